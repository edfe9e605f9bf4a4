"""Push a composed image: only the blobs the registry lacks, then one manifest.

Order matters: every blob must be in the repository before the manifest that names it.
A base-image layer on the same registry is mounted (linked without upload); one from
another registry is fetched into the local blob store once and uploaded from there.
Layers are handled a few at a time: with a remote registry most of the time is waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from uv_lambda.image.compose import ComposedImage
from uv_lambda.image.oci import Descriptor
from uv_lambda.image.reference import Reference
from uv_lambda.image.registry import RegistryClient
from uv_lambda.image.store import BlobStore

PARALLEL_UPLOADS = 4
Outcome = Literal["present", "mounted", "uploaded"]


@dataclass
class PushStats:
    uploaded: list[str] = field(default_factory=list)  # digests of blobs sent, config included
    mounted: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)  # already in the repository
    bytes_uploaded: int = 0  # blob and manifest bytes sent

    def record(self, digest: str, outcome: Outcome) -> None:
        {"present": self.present, "mounted": self.mounted, "uploaded": self.uploaded}[outcome].append(digest)


def push_image(
    image: ComposedImage,
    target: Reference,
    client: RegistryClient,
    store: BlobStore,
    *,
    base: Reference,
    fetch_base_layer: Callable[[str], None],
) -> PushStats:
    """Push `image` to `target`; `fetch_base_layer(digest)` puts a base layer in the store."""
    sent_before = client.bytes_uploaded
    can_mount = base.registry == target.registry and base.repository != target.repository
    base_digests = {layer.digest for layer in image.base_layers}

    def ensure(layer: Descriptor) -> Outcome:
        if client.blob_exists(target, layer.digest):
            return "present"
        if layer.digest in base_digests:
            if can_mount and client.mount_blob(target, layer.digest, base.repository):
                return "mounted"
            fetch_base_layer(layer.digest)
        client.upload_blob(target, layer.digest, store.path(layer.digest))
        return "uploaded"

    layers = list({layer.digest: layer for layer in image.layer_descriptors}.values())
    with ThreadPoolExecutor(max_workers=PARALLEL_UPLOADS) as pool:
        # map() yields in layer order and re-raises the first failure here.
        outcomes = list(pool.map(ensure, layers))
    stats = PushStats()
    for layer, outcome in zip(layers, outcomes, strict=True):
        stats.record(layer.digest, outcome)
    config = image.config_descriptor.digest
    if client.blob_exists(target, config):
        stats.record(config, "present")
    else:
        client.upload_blob(target, config, image.config)
        stats.record(config, "uploaded")
    client.put_manifest(target, image.manifest_type, image.manifest)
    stats.bytes_uploaded = client.bytes_uploaded - sent_before
    return stats
