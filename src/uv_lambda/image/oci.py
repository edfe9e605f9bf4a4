"""OCI and Docker schema 2 media types, descriptors and digests: the vocabulary of images."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
# Sent as Accept on every manifest read: without it registries fall back to schema 1.
ACCEPT_MANIFESTS = ", ".join((*MANIFEST_TYPES, *INDEX_TYPES))

# Each manifest family names its config and gzip layers differently; the bytes are the same.
CONFIG_TYPE = {OCI_MANIFEST: OCI_CONFIG, DOCKER_MANIFEST: DOCKER_CONFIG}
LAYER_TYPE = {OCI_MANIFEST: OCI_LAYER_GZIP, DOCKER_MANIFEST: DOCKER_LAYER_GZIP}
_GZIP_LAYERS = {OCI_LAYER_GZIP, DOCKER_LAYER_GZIP}


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Stable bytes for a JSON document: the same image always gets the same digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Descriptor:
        return cls(str(data["mediaType"]), str(data["digest"]), int(data["size"]))


def layer_type_in(manifest_type: str, layer_type: str) -> str:
    """A base layer's media type rewritten for `manifest_type`; only gzip layers can be."""
    if layer_type in _GZIP_LAYERS:
        return LAYER_TYPE[manifest_type]
    return layer_type


def manifest_json(manifest_type: str, config: Descriptor, layers: list[Descriptor]) -> bytes:
    return canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": config.to_json(),
            "layers": [layer.to_json() for layer in layers],
        }
    )
