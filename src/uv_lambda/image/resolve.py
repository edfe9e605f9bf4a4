"""An image as one platform sees it: the manifest for the architecture, its config, its layers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from uv_lambda.errors import BuildError
from uv_lambda.image.oci import INDEX_TYPES, MANIFEST_TYPES, Descriptor
from uv_lambda.image.reference import Reference
from uv_lambda.image.registry import RegistryClient, RegistryError
from uv_lambda.runtimes import Architecture


@dataclass(frozen=True)
class PlatformImage:
    reference: Reference  # pinned to the platform manifest's digest
    manifest_type: str
    config: dict[str, Any]
    layers: tuple[Descriptor, ...]


def _platform_name(entry: dict[str, Any]) -> str:
    platform = entry.get("platform") or {}
    name = f"{platform.get('os', '?')}/{platform.get('architecture', '?')}"
    return f"{name}/{platform['variant']}" if platform.get("variant") else name


def pick_platform(index: dict[str, Any], arch: Architecture, ref: Reference, role: str = "base image") -> Descriptor:
    """The index entry for linux/<arch>; attestation entries (unknown/unknown) never match."""
    entries = [entry for entry in index.get("manifests", []) if isinstance(entry, dict)]
    for entry in entries:
        platform = entry.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == arch.oci_name:
            if arch is Architecture.ARM64 and platform.get("variant") not in (None, "", "v8"):
                continue
            return Descriptor.from_json(entry)
    available = sorted({_platform_name(entry) for entry in entries if _platform_name(entry) != "unknown/unknown"})
    raise RegistryError(
        f"{role} {ref} on registry {ref.registry} has no linux/{arch.oci_name} image "
        f"(it has: {', '.join(available) or 'none'})",
        f"use an image built for {arch.value}, or pick another architecture",
    )


def resolve_image(
    client: RegistryClient, ref: Reference, arch: Architecture, *, role: str = "base image"
) -> PlatformImage:
    """The manifest of `ref` for linux/`arch` (picked out of an index), with config and layers."""
    media_type, body, digest = client.get_manifest(ref)
    document = json.loads(body)
    if media_type in INDEX_TYPES or "manifests" in document:
        chosen = pick_platform(document, arch, ref, role)
        pinned = ref.with_digest(chosen.digest)
        media_type, body, digest = client.get_manifest(pinned)
        document = json.loads(body)
    else:
        pinned = ref.with_digest(digest)
    if media_type not in MANIFEST_TYPES:
        raise BuildError(
            f"{role} {ref} on registry {ref.registry} has an unsupported manifest type {media_type!r}",
            "use an image in OCI or Docker schema 2 format",
        )
    config_descriptor = Descriptor.from_json(document["config"])
    config = json.loads(client.get_blob(pinned, config_descriptor.digest))
    found = config.get("architecture")
    if found != arch.oci_name:
        raise RegistryError(
            f"{role} {ref} on registry {ref.registry} is linux/{found}, not linux/{arch.oci_name}",
            f"use an image built for {arch.value}, or pick another architecture",
        )
    layers = tuple(Descriptor.from_json(layer) for layer in document.get("layers", []))
    return PlatformImage(pinned, media_type, config, layers)
