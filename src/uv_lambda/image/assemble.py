"""`build_image`: staged function folders -> layers -> image -> registry and/or files."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from uv_lambda.errors import UsageError
from uv_lambda.image import credentials
from uv_lambda.image.auth import Credentials
from uv_lambda.image.compose import ComposedImage, compose
from uv_lambda.image.layers import Layer, build_layer, has_files
from uv_lambda.image.output import write_output
from uv_lambda.image.push import PushStats, push_image
from uv_lambda.image.reference import ImageTarget, Reference
from uv_lambda.image.registry import RegistryClient
from uv_lambda.image.resolve import PlatformImage, resolve_image
from uv_lambda.image.store import BlobStore, default_cache_dir
from uv_lambda.runtimes import Architecture
from uv_lambda.ui import Reporter, human_size

log = logging.getLogger(__name__)


class ImageInputs(Protocol):
    """What the image build reads from a staged function (bundle.pipeline.StagedFunction,
    from uv_lambda.bundle.pipeline.stage_function, satisfies it)."""

    @property
    def architecture(self) -> Architecture: ...
    @property
    def handler(self) -> str | None: ...
    @property
    def dependencies_dir(self) -> Path: ...
    @property
    def workspace_dir(self) -> Path: ...
    @property
    def app_dir(self) -> Path: ...


@dataclass(frozen=True)
class ImageResult:
    digest: str  # sha256 of the manifest: what Lambda's ImageUri pins with @digest
    manifest_type: str
    base: str  # the base image, pinned to the platform manifest used
    layers: tuple[Layer, ...]  # ours, in order: dependencies, workspace, application
    base_layer_count: int
    pushed: str | None = None  # REF@digest when pushed
    output: str | None = None
    bytes_uploaded: int = 0
    uploaded: tuple[str, ...] = ()  # digests of the blobs sent
    mounted: tuple[str, ...] = ()
    present: tuple[str, ...] = field(default=())

    @property
    def layer_count(self) -> int:
        return self.base_layer_count + len(self.layers)

    def to_json(self) -> dict[str, Any]:
        """For `--json` output and metadata files: everything but local paths."""
        return {
            "digest": self.digest,
            "manifest_type": self.manifest_type,
            "base": self.base,
            "pushed": self.pushed,
            "output": self.output,
            "bytes_uploaded": self.bytes_uploaded,
            "layer_count": self.layer_count,
            "layers": [
                {"name": layer.name, "digest": layer.digest, "size": layer.size, "files": layer.file_count}
                for layer in self.layers
            ],
            "uploaded": list(self.uploaded),
            "mounted": list(self.mounted),
            "present": list(self.present),
        }


class _Clients:
    """One client per registry host, so a login or token is reused across the build."""

    def __init__(self, overrides: dict[str, Credentials] | None, push_registry: str | None) -> None:
        self._overrides = overrides or {}
        self._push_registry = push_registry
        self._clients: dict[str, RegistryClient] = {}

    def get(self, ref: Reference) -> RegistryClient:
        if ref.registry not in self._clients:
            creds = self._overrides.get(ref.registry)
            if creds is None and ref.registry not in self._overrides:
                creds = credentials.credentials_for(ref.registry, push_target=ref.registry == self._push_registry)
            self._clients[ref.registry] = RegistryClient(
                ref.registry,
                creds,
                plain_http=ref.is_loopback or ref.registry in _insecure_registries(),
            )
        return self._clients[ref.registry]


def _insecure_registries() -> set[str]:
    # For a plain-http registry on another host (a CI service container, say).
    return {name.strip() for name in os.environ.get("UV_LAMBDA_INSECURE_REGISTRIES", "").split(",") if name.strip()}


def build_image(
    staged: ImageInputs,
    target: ImageTarget,
    *,
    reporter: Reporter,
    cache_dir: Path | None = None,
    registry_credentials: dict[str, Credentials] | None = None,
) -> ImageResult:
    """Build the function's image on `target.base`; push it to `target.push`, write it to
    `target.output` (named `target.tag` there, by default the push reference).

    Credentials: `registry_credentials` by registry host, else the environment / Docker
    config / ECR (see uv_lambda.image.credentials).
    """
    if not staged.handler:
        raise UsageError(
            "an image needs a handler, and this function has none",
            'set handler = "module.function" in [tool.uv-lambda] or pass --handler',
        )
    if target.base is None:
        raise TypeError("build_image needs target.base (app/image.py picks the runtime's by default)")
    store = BlobStore(cache_dir or default_cache_dir())
    clients = _Clients(registry_credentials, target.login_registry)
    base_client = clients.get(target.base)
    with reporter.step(f"reading base image {target.base}"):
        base = resolve_image(base_client, target.base, staged.architecture)
    image = compose(base, _own_layers(staged, store, reporter), staged.handler)

    def fetch_base_layer(digest: str) -> None:
        # Runs in push threads: no spinner here, the push step shows progress.
        if not store.has(digest):
            log.debug("downloading base layer %s from %s", digest, base.reference)
            base_client.download_blob(base.reference, digest, store.path(digest))

    stats = PushStats()
    if target.push is not None:
        with reporter.step(f"pushing {target.push}"):
            stats = push_image(
                image,
                target.push,
                clients.get(target.push),
                store,
                base=base.reference,
                fetch_base_layer=fetch_base_layer,
            )
        reporter.info(
            f"pushed {target.push}@{image.digest}: {len(stats.uploaded)} blobs uploaded "
            f"({human_size(stats.bytes_uploaded)}), "
            f"{len(stats.present) + len(stats.mounted)} already there"
        )
    if target.output is not None:
        with reporter.step(f"downloading base image layers of {target.base}"):
            for layer in base.layers:
                fetch_base_layer(layer.digest)
        with reporter.step(f"writing {target.output}"):
            write_output(target.output, image, store, target.tag or (str(target.push) if target.push else None))
    return _result(image, base, target, stats)


def _own_layers(staged: ImageInputs, store: BlobStore, reporter: Reporter) -> list[Layer]:
    """Dependencies, workspace packages, application: one layer each (the first two only when
    they hold files)."""
    layers: list[Layer] = []
    for name, folder in (
        ("dependencies", staged.dependencies_dir),
        ("workspace", staged.workspace_dir),
        ("application", staged.app_dir),
    ):
        if name == "application" or has_files(folder):
            with reporter.step(f"layer {name}"):
                layers.append(build_layer(folder, store, name=name))
    return layers


def _result(image: ComposedImage, base: PlatformImage, target: ImageTarget, stats: PushStats) -> ImageResult:
    pushed = target.push
    return ImageResult(
        digest=image.digest,
        manifest_type=image.manifest_type,
        base=str(base.reference),
        layers=image.own_layers,
        base_layer_count=len(image.base_layers),
        pushed=f"{pushed.registry}/{pushed.repository}@{image.digest}" if pushed else None,
        output=str(target.output) if target.output else None,
        bytes_uploaded=stats.bytes_uploaded,
        uploaded=tuple(stats.uploaded),
        mounted=tuple(stats.mounted),
        present=tuple(stats.present),
    )
