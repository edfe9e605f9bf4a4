"""Deterministic image layers: a folder tree as a gzip tar placed under /var/task.

Same tree, same bytes: entries sorted, owner root (0/0) with no names, modes normalised to
0644 (0755 for folders and executables), one fixed mtime, PAX format, gzip header with
mtime 0 and no file name. A layer is built once per tree state: a fingerprint of the tree
(paths, modes, sizes, mtimes) finds the earlier result in the blob store.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from uv_lambda.image.store import BlobStore

# 1980-01-01, the date the zip build uses: files look the same in both artifact kinds.
FIXED_MTIME = 315532800
_FORMAT_VERSION = "1"  # bump when the tar layout changes so old fingerprints stop matching
_COMPRESS_LEVEL = 6


@dataclass(frozen=True)
class Layer:
    name: str  # "dependencies", "workspace", "application"
    digest: str  # sha256 of the gzip bytes: the blob name
    diff_id: str  # sha256 of the uncompressed tar: what the image config lists
    size: int  # gzip bytes
    file_count: int
    path: Path  # the blob in the store


@dataclass(frozen=True)
class _Entry:
    relative: str  # POSIX path below the source root
    path: Path
    kind: str  # "dir", "file", "symlink"
    mode: int
    size: int
    mtime_ns: int
    link: str = ""


def _scan(source: Path) -> list[_Entry]:
    entries: list[_Entry] = []
    for folder, dirs, files in os.walk(source):
        dirs.sort()
        for name in [*dirs, *sorted(files)]:
            path = Path(folder) / name
            info = path.lstat()
            relative = path.relative_to(source).as_posix()
            if stat.S_ISLNK(info.st_mode):
                entries.append(_Entry(relative, path, "symlink", 0o777, 0, info.st_mtime_ns, os.readlink(path)))
            elif stat.S_ISDIR(info.st_mode):
                entries.append(_Entry(relative, path, "dir", 0o755, 0, info.st_mtime_ns))
            elif stat.S_ISREG(info.st_mode):
                # Lambda runs code as an unprivileged user: everything must be world-readable.
                mode = 0o755 if info.st_mode & 0o111 else 0o644
                entries.append(_Entry(relative, path, "file", mode, info.st_size, info.st_mtime_ns))
    entries.sort(key=lambda entry: entry.relative)
    return entries


def _fingerprint(entries: list[_Entry], under: str) -> str:
    hasher = hashlib.sha256(f"{_FORMAT_VERSION}\0{under}\0{_COMPRESS_LEVEL}\n".encode())
    for entry in entries:
        hasher.update(
            f"{entry.relative}\0{entry.kind}\0{entry.mode}\0{entry.size}\0{entry.mtime_ns}\0{entry.link}\n".encode()
        )
    return hasher.hexdigest()


class _Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


class _HashingWriter(io.RawIOBase):
    """Counts and hashes what passes through on its way to `target`."""

    def __init__(self, target: _Sink) -> None:
        self.target = target
        self.hasher = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.hasher.update(data)
        self.size += len(data)
        self.target.write(bytes(data))
        return len(data)


def _tarinfo(name: str, entry: _Entry | None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = FIXED_MTIME
    if entry is None or entry.kind == "dir":
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    elif entry.kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = entry.link
        info.mode = 0o777
    else:
        info.type = tarfile.REGTYPE
        info.mode = entry.mode
        info.size = entry.size
    return info


def build_layer(source: Path, store: BlobStore, *, name: str, under: str = "var/task") -> Layer:
    """The layer of `source`'s tree placed at /`under`, from the store when built before."""
    entries = _scan(source)
    key = _fingerprint(entries, under)
    record = store.read_record("layers", key)
    if record is not None and store.has(str(record["digest"])):
        return Layer(
            name,
            str(record["digest"]),
            str(record["diff_id"]),
            int(record["size"]),
            int(record["file_count"]),
            store.path(str(record["digest"])),
        )
    with store.temporary() as (handle, temp):
        compressed = _HashingWriter(handle)
        with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=_COMPRESS_LEVEL) as gz:
            uncompressed = _HashingWriter(gz)
            with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                prefix = PurePosixPath(under)
                # The parent folders first, so tools that unpack in order create them as 0755.
                for depth in range(1, len(prefix.parts) + 1):
                    tar.addfile(_tarinfo(PurePosixPath(*prefix.parts[:depth]).as_posix(), None))
                file_count = 0
                for entry in entries:
                    info = _tarinfo(f"{under}/{entry.relative}", entry)
                    if entry.kind == "file":
                        with entry.path.open("rb") as content:
                            tar.addfile(info, content)
                        file_count += 1
                    else:
                        tar.addfile(info)
        handle.close()
        digest = f"sha256:{compressed.hasher.hexdigest()}"
        diff_id = f"sha256:{uncompressed.hasher.hexdigest()}"
        path = store.commit(temp, digest)
    store.write_record(
        "layers",
        key,
        {"digest": digest, "diff_id": diff_id, "size": compressed.size, "file_count": file_count},
    )
    return Layer(name, digest, diff_id, compressed.size, file_count, path)


def has_files(source: Path | None) -> bool:
    """Whether a staged folder holds anything worth a layer (missing or empty: no layer)."""
    if source is None or not source.is_dir():
        return False
    return any(files for _, _, files in os.walk(source))
