"""Compose the new image: the base's layers and config, plus our layers, in one manifest."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

from uv_lambda.image.layers import Layer
from uv_lambda.image.oci import (
    CONFIG_TYPE,
    LAYER_TYPE,
    Descriptor,
    canonical_json,
    layer_type_in,
    manifest_json,
    sha256_digest,
)
from uv_lambda.image.resolve import PlatformImage

TASK_ROOT = "/var/task"
# A fixed creation date keeps the config, and so the image digest, reproducible.
CREATED = "1980-01-01T00:00:00Z"


@dataclass(frozen=True)
class ComposedImage:
    manifest_type: str
    manifest: bytes
    digest: str  # sha256 of the manifest bytes: the image's name once pushed
    config: bytes
    config_descriptor: Descriptor
    base_layers: tuple[Descriptor, ...]
    own_layers: tuple[Layer, ...]

    @property
    def layer_descriptors(self) -> list[Descriptor]:
        return _all_layers(self.manifest_type, self.base_layers, self.own_layers)


def _all_layers(manifest_type: str, base_layers: Sequence[Descriptor], layers: Sequence[Layer]) -> list[Descriptor]:
    own = [Descriptor(LAYER_TYPE[manifest_type], layer.digest, layer.size) for layer in layers]
    return [*base_layers, *own]


def compose(base: PlatformImage, layers: Sequence[Layer], handler: str) -> ComposedImage:
    """The base config with Cmd = [handler]: Entrypoint (the runtime bootstrap) and Env stay."""
    config = copy.deepcopy(base.config)
    config["created"] = CREATED
    runtime = config.setdefault("config", {})
    runtime["Cmd"] = [handler]
    runtime["WorkingDir"] = TASK_ROOT
    rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    rootfs["diff_ids"] = [*rootfs.get("diff_ids", []), *(layer.diff_id for layer in layers)]
    history = list(config.get("history", []))
    history.extend(
        {"created": CREATED, "created_by": f"uv-lambda: {layer.name} ({layer.file_count} files)"} for layer in layers
    )
    config["history"] = history
    config_bytes = canonical_json(config)
    config_descriptor = Descriptor(CONFIG_TYPE[base.manifest_type], sha256_digest(config_bytes), len(config_bytes))
    base_layers = tuple(
        Descriptor(layer_type_in(base.manifest_type, layer.media_type), layer.digest, layer.size)
        for layer in base.layers
    )
    manifest = manifest_json(
        base.manifest_type, config_descriptor, _all_layers(base.manifest_type, base_layers, layers)
    )
    return ComposedImage(
        base.manifest_type,
        manifest,
        sha256_digest(manifest),
        config_bytes,
        config_descriptor,
        base_layers,
        tuple(layers),
    )
