"""Image build+push: a full build and push vs an application-only rebuild and push.

Two local docker-registry instances stand in for a public registry holding the Lambda base
image and a private one (ECR) receiving the function's image. The base image is synthetic:
three layers of incompressible data (35 MB), pushed with skopeo. The function is the uv
guide's FastAPI app (examples/fastapi-hello), staged once with the real build.

  full      empty image cache, new repository: base layers downloaded and uploaded,
            dependency/workspace/app layers compressed and uploaded
  app-only  one line of app/main.py changed, then build and push again

Prints the wall-time ratio app-only / full (target <= 0.2) and the bytes each push sent
(target for app-only: <= app layer + config + manifest).

Run: python bench/image_bench.py [--runs 3]   (needs docker-registry and skopeo from apt)
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from uv_lambda import proc
from uv_lambda.bundle.pipeline import StagedFunction, stage_function
from uv_lambda.image.assemble import ImageResult, build_image
from uv_lambda.image.reference import image_target
from uv_lambda.project import load_project
from uv_lambda.ui import Reporter

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_registry(root: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = _free_port()
    config = root / "config.yml"
    config.write_text(
        f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    process = proc.spawn(["docker-registry", "serve", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            return f"127.0.0.1:{port}", process
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    process.kill()
    raise SystemExit("docker-registry did not start")


def push_synthetic_base(layout: Path, reference: str) -> None:
    """An OCI layout with three random-data layers, copied to the registry by skopeo."""
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def blob(data: bytes, media_type: str) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    layers, diff_ids = [], []
    for index, megabytes in enumerate((20, 10, 5)):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            data = os.urandom(megabytes * 1_000_000)
            info = tarfile.TarInfo(f"var/lang/lib/blob{index}.bin")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        raw = buffer.getvalue()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        layers.append(
            blob(
                gzip.compress(raw, compresslevel=1, mtime=0),
                "application/vnd.oci.image.layer.v1.tar+gzip",
            )
        )
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/lambda-entrypoint.sh"], "Env": ["LAMBDA_TASK_ROOT=/var/task"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"),
        "layers": layers,
    }
    entry = blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
    entry["annotations"] = {"org.opencontainers.image.ref.name": "base"}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    proc.run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            f"oci:{layout}:base",
            f"docker://{reference}",
        ]
    )


def timed_push(
    staged: StagedFunction, base: str, target: str, cache: Path, reporter: Reporter
) -> tuple[float, ImageResult]:
    """Seconds to build `staged` on `base` and push it to `target`, and the result."""
    started = time.perf_counter()
    result = build_image(staged, image_target(push=target, base_image=base), reporter=reporter, cache_dir=cache)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for tool in ("docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install docker-registry skopeo")
    scratch = Path(tempfile.mkdtemp(prefix="uv-lambda-image-bench-"))
    processes = []
    try:
        (scratch / "public").mkdir()
        (scratch / "private").mkdir()
        public, process = start_registry(scratch / "public")
        processes.append(process)
        private, process = start_registry(scratch / "private")
        processes.append(process)
        base = f"{public}/lambda/python:3.13"
        push_synthetic_base(scratch / "layout", base)
        app = scratch / "fastapi-hello"
        shutil.copytree(REPO / "examples" / "fastapi-hello", app, ignore=shutil.ignore_patterns("dist", ".venv"))
        project = load_project(app)
        [config] = project.functions().values()
        quiet = Reporter(quiet=True)
        full_times, app_times, full_bytes, app_bytes, app_budget = [], [], [], [], []
        for run in range(args.runs):
            with stage_function(project, config, reporter=quiet) as staged:
                cache = scratch / f"cache-{run}"
                target = f"{private}/bench/run{run}:latest"
                seconds, full = timed_push(staged, base, target, cache, quiet)
                full_times.append(seconds)
                full_bytes.append(full.bytes_uploaded)
                main_py = staged.app_dir / "app" / "main.py"
                main_py.write_text(main_py.read_text() + f"\n# edit {run}\n")
                seconds, again = timed_push(staged, base, target, cache, quiet)
                app_times.append(seconds)
                app_bytes.append(again.bytes_uploaded)
                app_layer = again.layers[-1]
                manifest_size = _manifest_size(private, target)
                config_size = _config_size(private, target)
                app_budget.append(app_layer.size + config_size + manifest_size)
                assert again.uploaded[0] == app_layer.digest and len(again.uploaded) == 2, again.uploaded
        full_median, app_median = statistics.median(full_times), statistics.median(app_times)
        print(f"runs: {args.runs}; base image 35 MB in 3 layers; app: examples/fastapi-hello")
        print(f"full build+push       median {full_median:.3f} s  ({_listed(full_times)})")
        print(f"app-only rebuild+push median {app_median:.3f} s  ({_listed(app_times)})")
        print(f"ratio app-only / full: {app_median / full_median:.3f}  (target <= 0.2)")
        print(f"bytes uploaded, full:     {statistics.median(full_bytes):,.0f}")
        print(
            f"bytes uploaded, app-only: {statistics.median(app_bytes):,.0f}"
            f"  (app layer + config + manifest = {statistics.median(app_budget):,.0f})"
        )
        if max(b - budget for b, budget in zip(app_bytes, app_budget, strict=True)) > 0:
            print("FAIL: the app-only push sent more than the app layer, config and manifest")
            sys.exit(1)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)


def _listed(times: list[float]) -> str:
    return ", ".join(f"{seconds:.3f}" for seconds in times)


def _get(registry: str, path: str, accept: str) -> bytes:
    request = urllib.request.Request(f"http://{registry}{path}", headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def _manifest_size(registry: str, target: str) -> int:
    repository, tag = target.split("/", 1)[1].rsplit(":", 1)
    return len(
        _get(
            registry,
            f"/v2/{repository}/manifests/{tag}",
            "application/vnd.oci.image.manifest.v1+json",
        )
    )


def _config_size(registry: str, target: str) -> int:
    repository, tag = target.split("/", 1)[1].rsplit(":", 1)
    manifest = json.loads(
        _get(
            registry,
            f"/v2/{repository}/manifests/{tag}",
            "application/vnd.oci.image.manifest.v1+json",
        )
    )
    return int(manifest["config"]["size"])


if __name__ == "__main__":
    main()
