"""Deterministic zip archives, and splicing of already-compressed entries.

Python's zipfile writes timestamps, varying attributes and (for some entries) extra
fields; this writer controls every byte: fixed 1980-01-01 dates, Unix create_system,
0644/0755 modes, no extra fields, entries in sorted order. The same entries give the
same bytes, hence the same CodeSha256.

Entries can come from two places: files on disk (compressed here) and entries of an
existing archive (copied raw, never recompressed). The second is what makes a rebuild
after an application edit fast: the dependency archive in the cache is spliced in.
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from uv_lambda.errors import BuildError

_DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1
_DOS_TIME_MIDNIGHT = 0
_CREATE_SYSTEM_UNIX = 3
_VERSION = 20  # 2.0: deflate
_UTF8_FLAG = 0x800
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
_END_RECORD = struct.Struct("<IHHHHIIH")
_MAX_ENTRIES = 0xFFFF
_MAX_SIZE = 0xFFFFFFFF
COMPRESS_LEVEL = 6  # what `zip -r` uses: the same size as the hand-written guide's archive

FILE_MODE = 0o644
EXECUTABLE_MODE = 0o755
DIRECTORY_MODE = 0o755


def normalised_mode(path_mode: int) -> int:
    """0755 for anything executable by its owner, else 0644: readable by Lambda's user."""
    return EXECUTABLE_MODE if path_mode & stat.S_IXUSR else FILE_MODE


@dataclass(frozen=True)
class Entry:
    """One file of an archive, already compressed (data is the compressed stream)."""

    name: str
    mode: int
    crc: int
    size: int
    method: int
    data_source: Path  # where the compressed bytes are
    data_offset: int
    data_length: int


@dataclass(frozen=True)
class SourceFile:
    """A file on disk to be stored under `name`."""

    name: str
    path: Path


def _compress(path: Path) -> tuple[bytes, int, int, int, int]:
    """(compressed bytes, method, crc, size, mode) of one file."""
    raw = path.read_bytes()
    compressor = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15)
    packed = compressor.compress(raw) + compressor.flush()
    method = zipfile.ZIP_DEFLATED
    if len(packed) >= len(raw):  # already-compressed data: store it as it is
        packed, method = raw, zipfile.ZIP_STORED
    return packed, method, zlib.crc32(raw), len(raw), normalised_mode(path.stat().st_mode)


def compress_files(sources: Iterable[SourceFile], scratch: Path, workers: int = 0) -> list[Entry]:
    """Compress files into one scratch file, in parallel threads (zlib releases the GIL).

    Files are submitted in bounded windows so memory stays flat however large the tree.
    """
    items = list(sources)
    workers = workers or min(4, os.cpu_count() or 1)
    window = workers * 16
    entries: list[Entry] = []
    with ThreadPoolExecutor(max_workers=workers) as pool, scratch.open("wb") as out:
        for start in range(0, len(items), window):
            batch = items[start : start + window]
            for source, (packed, method, crc, size, mode) in zip(
                batch, pool.map(_compress, [item.path for item in batch]), strict=True
            ):
                entries.append(Entry(source.name, mode, crc, size, method, scratch, out.tell(), len(packed)))
                out.write(packed)
    return entries


def read_entries(archive: Path) -> list[Entry]:
    """The entries of a zip written by this module, pointing at their compressed bytes.

    Only for archives this module wrote: their local headers carry no extra field, so the
    data starts right after the name, without reading each local header.
    """
    entries = []
    with zipfile.ZipFile(archive) as handle:
        for info in handle.infolist():
            if info.is_dir():
                continue
            name_length = len(info.orig_filename.encode("utf-8"))
            entries.append(
                Entry(
                    name=info.filename,
                    mode=(info.external_attr >> 16) & 0o7777,
                    crc=info.CRC,
                    size=info.file_size,
                    method=info.compress_type,
                    data_source=archive,
                    data_offset=info.header_offset + _LOCAL_HEADER.size + name_length,
                    data_length=info.compress_size,
                )
            )
    return entries


def with_prefix(entries: Iterable[Entry], prefix: str) -> list[Entry]:
    from dataclasses import replace

    return [replace(entry, name=prefix + entry.name) for entry in entries]


def _directories(names: Iterable[str]) -> set[str]:
    folders: set[str] = set()
    for name in names:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folders.add("/".join(parts[:depth]) + "/")
    return folders


def _copy_range(source: BinaryIO, destination: BinaryIO, length: int) -> None:
    remaining = length
    while remaining:
        chunk = source.read(min(remaining, 1 << 20))
        if not chunk:
            raise BuildError("a cached archive is truncated", "remove the uv-lambda cache and build again")
        destination.write(chunk)
        remaining -= len(chunk)


class _Writer:
    """Writes local entries to `out` and collects their central directory records."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.central = bytearray()
        self.count = 0
        self._sources: dict[Path, BinaryIO] = {}

    def add(self, name: str, entry: Entry | None) -> None:
        """Write `entry` under `name`; None writes a 0755 folder entry."""
        encoded = name.encode("utf-8")
        flags = 0 if encoded.isascii() else _UTF8_FLAG
        if entry is None:
            mode, crc, size, method, length = stat.S_IFDIR | DIRECTORY_MODE, 0, 0, 0, 0
            external = (mode << 16) | 0x10  # MS-DOS directory bit, as zip(1) sets it
        else:
            mode = stat.S_IFREG | entry.mode
            crc, size, method, length = entry.crc, entry.size, entry.method, entry.data_length
            external = mode << 16
        offset = self.out.tell()
        if offset > _MAX_SIZE or size > _MAX_SIZE:
            raise BuildError("the archive is larger than 4 GB", "Lambda accepts at most 250 MB unzipped")
        # fmt: off
        self.out.write(_LOCAL_HEADER.pack(
            0x04034B50, _VERSION, flags, method, _DOS_TIME_MIDNIGHT, _DOS_DATE_1980_01_01,
            crc, length, size, len(encoded), 0,
        ))
        # fmt: on
        self.out.write(encoded)
        if entry is not None:
            source = self._sources.get(entry.data_source)
            if source is None:
                source = self._sources[entry.data_source] = entry.data_source.open("rb")
            source.seek(entry.data_offset)
            _copy_range(source, self.out, length)
        # fmt: off
        self.central += _CENTRAL_HEADER.pack(
            0x02014B50, (_CREATE_SYSTEM_UNIX << 8) | _VERSION, _VERSION, flags, method,
            _DOS_TIME_MIDNIGHT, _DOS_DATE_1980_01_01, crc, length, size, len(encoded),
            0, 0, 0, 0, external, offset,
        )
        # fmt: on
        self.central += encoded
        self.count += 1

    def finish(self, previous_central: bytes = b"", previous_count: int = 0) -> None:
        """Write the central directory (records of a copied base first) and the end record."""
        start = self.out.tell()
        self.out.write(previous_central)
        self.out.write(self.central)
        total = previous_count + self.count
        if total > _MAX_ENTRIES:
            raise BuildError(
                f"the archive would hold {total} entries, more than a zip without ZIP64 can",
                "exclude packages or files you do not need (exclude / exclude-packages)",
            )
        size = len(previous_central) + len(self.central)
        self.out.write(_END_RECORD.pack(0x06054B50, 0, 0, total, total, size, start, 0))

    def close(self) -> None:
        for handle in self._sources.values():
            handle.close()


def _end_record(base: Path) -> tuple[int, int, int]:
    """(entry count, central directory size, central directory offset) of our own archive."""
    with base.open("rb") as handle:
        handle.seek(-_END_RECORD.size, os.SEEK_END)
        signature, _, _, _, count, size, offset, comment = _END_RECORD.unpack(handle.read(_END_RECORD.size))
    if signature != 0x06054B50 or comment:
        raise BuildError(f"{base} is not an archive uv-lambda wrote", "remove the uv-lambda cache and build again")
    return count, size, offset


def write_archive(destination: Path, entries: Iterable[Entry], *, base: Path | None = None) -> None:
    """Write `entries` (plus a 0755 entry for every folder) sorted by name to `destination`.

    With `base` (an archive this module wrote), the base's bytes come first, copied as they
    are: its local entries and central directory records stay valid because they keep their
    offsets. This is what makes a rebuild after an application edit cheap. When an entry
    has a name the base already holds, the archives are merged entry by entry instead, and
    the later entry wins (callers list what should win last).
    """
    by_name = {entry.name: entry for entry in entries}
    base_names: set[str] = set()
    if base is not None:
        with zipfile.ZipFile(base) as handle:
            base_names = set(handle.namelist())
        if base_names.intersection(by_name):
            merged = {entry.name: entry for entry in read_entries(base)}
            merged.update(by_name)
            write_archive(destination, merged.values())
            return
    names = sorted((set(by_name) | _directories(by_name)) - base_names)
    with destination.open("wb") as out:
        writer = _Writer(out)
        try:
            previous_central, previous_count = b"", 0
            if base is not None:
                previous_count, central_size, central_offset = _end_record(base)
                with base.open("rb") as source:
                    _copy_range(source, out, central_offset)
                    previous_central = source.read(central_size)
            for name in names:
                writer.add(name, by_name.get(name))
            writer.finish(previous_central, previous_count)
        finally:
            writer.close()
