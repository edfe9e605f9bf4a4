"""Helpers for the image tests: a real Distribution registry (Debian's docker-registry) on
127.0.0.1 with htpasswd Basic auth, and a small synthetic Lambda base image pushed to it with
skopeo.

The base image is assembled here by hand (tarfile + json) and pushed by skopeo, so the code
under test reads an image it had no part in writing.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from token_service import ISSUER as TOKEN_ISSUER
from token_service import SERVICE as TOKEN_SERVICE

from uv_lambda import proc
from uv_lambda.image.assemble import ImageResult, build_image
from uv_lambda.image.auth import Credentials
from uv_lambda.image.reference import image_target
from uv_lambda.runtimes import Architecture
from uv_lambda.ui import Reporter

REGISTRY_BINARY = "/usr/bin/docker-registry"
USERNAME = "lambda"
PASSWORD = "s3cret-pass"
BASE_REPOSITORY = "lambda/python"
BASE_ENTRYPOINT = ["/lambda-entrypoint.sh"]
BASE_ENV = [
    "PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LAMBDA_TASK_ROOT=/var/task",
    "LAMBDA_RUNTIME_DIR=/var/runtime",
    "LANG=en_US.UTF-8",
]


def _bcrypt_hash(password: str) -> str:
    """A bcrypt hash for htpasswd: Python's crypt (3.11, libxcrypt) or apache2-utils' htpasswd."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # removed in Python 3.13

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
        if hashed and hashed.startswith("$2"):
            return hashed
    except ImportError:
        pass
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        pytest.fail("need Python's crypt module (Python <= 3.12) or htpasswd (apt install apache2-utils)")
    line = proc.run([htpasswd, "-nbB", "-C", "4", "user", password]).stdout.strip()
    return line.split(":", 1)[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    storage: Path
    process: subprocess.Popen[bytes]

    @property
    def credentials(self) -> Credentials:
        return Credentials(USERNAME, PASSWORD)

    @property
    def creds_map(self) -> dict[str, Credentials]:
        return {self.host: self.credentials}

    def blob_count(self) -> int:
        """Blobs stored, counted on disk: independent of what the client under test reports."""
        blobs = self.storage / "docker" / "registry" / "v2" / "blobs" / "sha256"
        return sum(1 for _ in blobs.glob("*/*/data")) if blobs.is_dir() else 0

    def skopeo(self, *args: str) -> str:
        return proc.run(["skopeo", *args], what="skopeo").stdout

    def inspect(self, ref: str, *, raw: bool = False, config: bool = False) -> dict[str, Any]:
        flags = ["--raw"] if raw else ["--config"] if config else []
        output = self.skopeo(
            "inspect",
            "--tls-verify=false",
            "--creds",
            f"{USERNAME}:{PASSWORD}",
            *flags,
            f"docker://{ref}",
        )
        return dict(json.loads(output))


def start_registry(
    root: Path,
    *,
    readonly: bool = False,
    storage: Path | None = None,
    token_auth: tuple[str, Path] | None = None,
) -> Registry:
    """Serve a registry; htpasswd Basic auth, or `token_auth` = (token realm, signer certificate)."""
    if not Path(REGISTRY_BINARY).exists():
        pytest.fail(f"{REGISTRY_BINARY} is missing: apt-get install docker-registry skopeo")
    root.mkdir(parents=True, exist_ok=True)
    storage = storage or root / "storage"
    htpasswd = root / "htpasswd"
    htpasswd.write_text(f"{USERNAME}:{_bcrypt_hash(PASSWORD)}\n")
    port = free_port()
    maintenance = "\n  maintenance:\n    readonly:\n      enabled: true" if readonly else ""
    auth = f"auth:\n  htpasswd:\n    realm: uv-lambda-test\n    path: {htpasswd}\n"
    if token_auth is not None:
        realm, certificate = token_auth
        auth = (
            f"auth:\n  token:\n    realm: {realm}\n    service: {TOKEN_SERVICE}\n"
            f"    issuer: {TOKEN_ISSUER}\n    rootcertbundle: {certificate}\n"
        )
    config = root / "config.yml"
    config.write_text(
        f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true{maintenance}
http:
  addr: 127.0.0.1:{port}
{auth}"""
    )
    with (root / "registry.log").open("wb") as log:  # the child keeps its own copy of the fd
        process = proc.spawn([REGISTRY_BINARY, "serve", config], stdout=log.fileno(), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
        except urllib.error.HTTPError as error:
            if error.code == 401:  # up, and asking for a login as configured
                return Registry(f"127.0.0.1:{port}", storage, process)
        except OSError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"docker-registry did not start: {(root / 'registry.log').read_text()[-2000:]}")


def stop_registry(registry: Registry) -> None:
    registry.process.terminate()
    try:
        registry.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        registry.process.kill()
        registry.process.wait()


# ---- the synthetic base image --------------------------------------------------------------


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, 1700000000
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class OciLayoutWriter:
    """Writes an OCI image layout folder by hand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = _sha(data)
        (self.root / "blobs" / "sha256" / digest[7:]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def image(self, arch: str) -> dict[str, Any]:
        layer_tar = _tar(
            {
                "lambda-entrypoint.sh": (b'#!/bin/sh\nexec /var/runtime/bootstrap "$@"\n', 0o755),
                "var/runtime/bootstrap": (f"runtime for {arch}\n".encode(), 0o755),
                "var/task/.keep": (b"", 0o644),
                "etc/arch": (arch.encode(), 0o644),
            }
        )
        layer = self.blob(gzip.compress(layer_tar, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
        config = {
            "architecture": arch,
            "os": "linux",
            "created": "2026-11-01T00:00:00Z",
            "config": {
                "Entrypoint": BASE_ENTRYPOINT,
                "Env": BASE_ENV,
                "Cmd": ["app.handler"],
                "WorkingDir": "/var/task",
            },
            "rootfs": {"type": "layers", "diff_ids": [_sha(layer_tar)]},
            "history": [{"created": "2026-11-01T00:00:00Z", "created_by": "synthetic base"}],
        }
        config_desc = self.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config_desc,
            "layers": [layer],
        }
        return self.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")

    def attestation(self, subject: str) -> dict[str, Any]:
        """A provenance entry as BuildKit adds to every index (platform unknown/unknown)."""
        statement = self.blob(b'{"_type":"https://in-toto.io/Statement/v0.1"}', "application/vnd.in-toto+json")
        config = self.blob(
            b'{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}',
            "application/vnd.oci.image.config.v1+json",
        )
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": [statement],
        }
        entry = self.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
        entry["platform"] = {"os": "unknown", "architecture": "unknown"}
        entry["annotations"] = {
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": subject,
        }
        return entry

    def index(self, name: str, archs: list[str]) -> None:
        entries = []
        for arch in archs:
            entry = self.image(arch)
            entry["platform"] = {"os": "linux", "architecture": arch}
            entries.append(entry)
        entries.append(self.attestation(str(entries[0]["digest"])))
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        }
        descriptor = self.blob(json.dumps(index).encode(), "application/vnd.oci.image.index.v1+json")
        descriptor["annotations"] = {"org.opencontainers.image.ref.name": name}
        top = {"schemaVersion": 2, "manifests": [descriptor]}
        path = self.root / "index.json"
        if path.exists():
            top["manifests"] = [*json.loads(path.read_text())["manifests"], descriptor]
        path.write_text(json.dumps(top))


@dataclass(frozen=True)
class BaseImages:
    multi_arch: str  # an OCI index: linux/amd64, linux/arm64 and a provenance attestation
    amd64_only: str  # an index without arm64
    docker_v2: str  # one Docker schema 2 manifest (linux/amd64), no index


# ---- staged function trees ------------------------------------------------------------------


@dataclass(frozen=True)
class Staged:
    """The folders a staged function provides: what build_image reads."""

    architecture: Architecture
    handler: str
    dependencies_dir: Path
    workspace_dir: Path
    app_dir: Path


def make_staged(root: Path, *, arch: Architecture = Architecture.X86_64, workspace: bool = True) -> Staged:
    deps = root / "deps"
    (deps / "mangum").mkdir(parents=True)
    (deps / "mangum" / "__init__.py").write_text("from mangum.adapter import Mangum\n")
    (deps / "mangum" / "adapter.py").write_text("class Mangum:\n    pass\n" * 50)
    (deps / "bin").mkdir()
    (deps / "bin" / "tool").write_text("#!/bin/sh\necho tool\n")
    (deps / "bin" / "tool").chmod(0o700)  # private on disk: must still be 0755 in the image
    members = root / "workspace"
    members.mkdir()
    if workspace:
        (members / "library").mkdir()
        (members / "library" / "__init__.py").write_text('def hello() -> str:\n    return "Hello from library!"\n')
    app = root / "app"
    (app / "app").mkdir(parents=True)
    (app / "app" / "__init__.py").write_text("")
    (app / "app" / "main.py").write_text("def handler(event, context):\n    return 'Hello, world!'\n")
    (app / "app" / "main.py").chmod(0o600)
    return Staged(arch, "app.main.handler", deps, members, app)


def build(  # noqa: PLR0913  a factory: each test names the few options it varies
    staged: Staged,
    registry: Registry,
    base: str,
    cache_dir: Path,
    *,
    push: str | None = None,
    output: str | None = None,
    credentials: Credentials | None = None,
) -> ImageResult:
    """build_image with the test registry's login and a quiet reporter."""
    return build_image(
        staged,
        image_target(push=push, output=output, base_image=base),
        reporter=Reporter(quiet=True),
        cache_dir=cache_dir,
        registry_credentials={registry.host: credentials or registry.credentials},
    )


@contextmanager
def registry_login(registry: Registry) -> Iterator[None]:
    """The login in the environment, as a CI job would set it (restored afterwards)."""
    saved = {key: os.environ.get(key) for key in ("UV_LAMBDA_REGISTRY_USERNAME", "UV_LAMBDA_REGISTRY_PASSWORD")}
    os.environ["UV_LAMBDA_REGISTRY_USERNAME"] = registry.credentials.username
    os.environ["UV_LAMBDA_REGISTRY_PASSWORD"] = registry.credentials.password
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
