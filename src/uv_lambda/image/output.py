"""Write a composed image to disk: an OCI image layout folder, or a tar `docker load` reads.

The tar holds both a `manifest.json` (what `docker load` and `podman load` look for) and the
OCI layout files, as `docker save` has written since Docker 25. Layers stay gzip-compressed:
both loaders decompress them. Either output is written beside its target and renamed into
place, so an interrupted write leaves the previous output intact.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

from uv_lambda import atomic
from uv_lambda.image.compose import ComposedImage
from uv_lambda.image.layers import FIXED_MTIME
from uv_lambda.image.oci import OCI_INDEX, canonical_json
from uv_lambda.image.reference import OutputTarget
from uv_lambda.image.store import BlobStore

_OCI_LAYOUT = canonical_json({"imageLayoutVersion": "1.0.0"})
_REF_NAME = "org.opencontainers.image.ref.name"


def _blobs(image: ComposedImage, store: BlobStore) -> Iterator[tuple[str, Path | bytes]]:
    """Every blob of the image: manifest, config, layers (each once)."""
    yield image.digest, image.manifest
    yield image.config_descriptor.digest, image.config
    seen: set[str] = set()
    for layer in image.layer_descriptors:
        if layer.digest not in seen:
            seen.add(layer.digest)
            yield layer.digest, store.path(layer.digest)


def _index(image: ComposedImage, tag: str | None) -> bytes:
    entry: dict[str, object] = {
        "mediaType": image.manifest_type,
        "digest": image.digest,
        "size": len(image.manifest),
    }
    if tag:
        entry["annotations"] = {_REF_NAME: tag}
    return canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})


def _blob_name(digest: str) -> str:
    return "blobs/" + digest.replace(":", "/")


def write_oci_layout(image: ComposedImage, store: BlobStore, folder: Path, tag: str | None) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(atomic.temporary_name(folder))
    staging.mkdir()
    try:
        (staging / "oci-layout").write_bytes(_OCI_LAYOUT)
        (staging / "index.json").write_bytes(_index(image, tag))
        for digest, source in _blobs(image, store):
            target = staging / _blob_name(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(source, bytes):
                target.write_bytes(source)
            else:
                _link_or_copy(source, target)
        for path in [staging, *staging.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        atomic.replace_folder(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _docker_tag(tag: str | None) -> list[str]:
    # docker load wants name:tag; a bare name gets the tag Docker would give it.
    if not tag:
        return []
    return [tag if ":" in tag.rsplit("/", 1)[-1] else f"{tag}:latest"]


def write_docker_archive(image: ComposedImage, store: BlobStore, file: Path, tag: str | None) -> None:
    layers = [_blob_name(layer.digest) for layer in image.layer_descriptors]
    manifest = [
        {
            "Config": _blob_name(image.config_descriptor.digest),
            "RepoTags": _docker_tag(tag),
            "Layers": layers,
        }
    ]
    file.parent.mkdir(parents=True, exist_ok=True)
    with atomic.replacing(file) as temporary:
        with (
            open(temporary, "xb") as handle,
            tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            _add_bytes(tar, "oci-layout", _OCI_LAYOUT)
            _add_bytes(tar, "index.json", _index(image, _docker_tag(tag)[0] if tag else None))
            _add_bytes(tar, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
            for digest, source in _blobs(image, store):
                if isinstance(source, bytes):
                    _add_bytes(tar, _blob_name(digest), source)
                else:
                    info = _info(_blob_name(digest), source.stat().st_size)
                    with source.open("rb") as content:
                        tar.addfile(info, content)
        os.chmod(temporary, 0o644)


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, FIXED_MTIME
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_info(name, len(data)), io.BytesIO(data))


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # blobs are immutable: a hard link is a free copy
    except OSError:
        shutil.copyfile(source, target)


def write_output(target: OutputTarget, image: ComposedImage, store: BlobStore, tag: str | None) -> None:
    if target.kind == "oci-layout":
        write_oci_layout(image, store, target.path, tag)
    else:
        write_docker_archive(image, store, target.path, tag)
