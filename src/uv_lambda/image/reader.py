"""Read an image back from a registry: its config, its layers, and the files under chosen paths.

This is how a pushed image is checked, and how the local runner gets an image's /var/task
and /opt without a container engine. Layers are applied in order with OCI whiteouts
(`.wh.NAME` deletes NAME, `.wh..wh..opq` empties a folder); nothing is written outside `dest`.
"""

from __future__ import annotations

import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from uv_lambda.errors import BuildError
from uv_lambda.image import credentials
from uv_lambda.image.auth import Credentials
from uv_lambda.image.oci import Descriptor
from uv_lambda.image.reference import Reference
from uv_lambda.image.registry import RegistryClient
from uv_lambda.image.resolve import resolve_image
from uv_lambda.image.store import BlobStore, default_cache_dir
from uv_lambda.runtimes import Architecture

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"


@dataclass(frozen=True)
class PulledImage:
    reference: Reference  # pinned to the platform manifest
    manifest_type: str
    config: dict[str, Any]
    layers: tuple[Descriptor, ...]
    store: BlobStore  # holds every layer blob

    @property
    def cmd(self) -> list[str]:
        return list(self.config.get("config", {}).get("Cmd") or [])

    @property
    def env(self) -> dict[str, str]:
        pairs = (item.partition("=") for item in self.config.get("config", {}).get("Env") or [])
        return {name: value for name, _, value in pairs}

    def layer_path(self, layer: Descriptor) -> Path:
        return self.store.path(layer.digest)


def pull_image(
    ref: Reference,
    architecture: Architecture,
    *,
    cache_dir: Path | None = None,
    registry_credentials: Credentials | None = None,
) -> PulledImage:
    """Fetch the image's manifest for `architecture`, its config, and every layer not cached."""
    creds = registry_credentials or credentials.credentials_for(ref.registry, push_target=True)
    client = RegistryClient(ref.registry, creds, plain_http=ref.is_loopback)
    image = resolve_image(client, ref, architecture, role="image")
    store = BlobStore(cache_dir or default_cache_dir())
    for layer in image.layers:
        if not store.has(layer.digest):
            client.download_blob(image.reference, layer.digest, store.path(layer.digest))
    return PulledImage(image.reference, image.manifest_type, image.config, image.layers, store)


def _inside(member: str, prefixes: tuple[str, ...]) -> PurePosixPath | None:
    path = PurePosixPath(member.lstrip("/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts == (".",):
        return None
    if path.parts[0] == ".":
        path = PurePosixPath(*path.parts[1:])
    text = path.as_posix()
    if any(text == prefix or text.startswith(prefix + "/") for prefix in prefixes):
        return path
    return None


def _remove(target: Path) -> None:
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)


def unpack(image: PulledImage, dest: Path, prefixes: tuple[str, ...] = ("var/task", "opt")) -> None:
    """Write the files the image has under `prefixes` into `dest` (e.g. dest/var/task/...)."""
    dest.mkdir(parents=True, exist_ok=True)
    for layer in image.layers:
        try:
            with tarfile.open(image.layer_path(layer), mode="r:*") as tar:
                for member in tar:
                    path = _inside(member.name, prefixes)
                    if path is None:
                        continue
                    _apply(tar, member, path, dest)
        except tarfile.TarError as error:
            raise BuildError(
                f"layer {layer.digest} of {image.reference} is not a readable tar: {error}",
                "the image may be corrupt; push it again",
            ) from None


def _apply(tar: tarfile.TarFile, member: tarfile.TarInfo, path: PurePosixPath, dest: Path) -> None:
    target = dest.joinpath(*path.parts)
    if path.name == _OPAQUE:
        for child in target.parent.iterdir() if target.parent.is_dir() else []:
            _remove(child)
        return
    if path.name.startswith(_WHITEOUT):
        _remove(target.with_name(path.name[len(_WHITEOUT) :]))
        return
    # A symlinked parent could point outside dest: refuse to write through one.
    for parent in list(target.relative_to(dest).parents)[:-1]:
        if (dest / parent).is_symlink():
            return
    if member.isdir():
        if target.exists() and not target.is_dir():
            _remove(target)
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        _remove(target)
    _write(tar, member, target, dest)


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, dest: Path) -> None:
    """Write a layer's symlink, file or hard link at `target` (where nothing is now)."""
    if member.issym():
        target.symlink_to(member.linkname)
    elif member.isfile():
        source = tar.extractfile(member)
        assert source is not None
        with source, target.open("wb") as out:
            shutil.copyfileobj(source, out)
        target.chmod(0o755 if member.mode & 0o111 else 0o644)
    elif member.islnk():
        linked = _inside(member.linkname, ("",)) if member.linkname else None
        origin = dest.joinpath(*linked.parts) if linked else None
        if origin is not None and origin.is_file():
            shutil.copyfile(origin, target)
