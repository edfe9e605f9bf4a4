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

import hashlib
import os
import stat
import struct
import zlib
from collections import namedtuple
from collections.abc import Iterable, Iterator

from uv_lambda.atomic import with_path
from uv_lambda.errors import BuildError, DamagedCacheEntry

# An app-only rebuild imports this module; typing costs it ~3 ms (bundle/rebuild/__init__.py).
# The records below are collections.namedtuple at run time and typing.NamedTuple for mypy.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from _thread import LockType
    from typing import Any, BinaryIO, NamedTuple

    from _typeshed import StrPath

    class _EntryFields(NamedTuple):
        name: str
        mode: int
        crc: int
        size: int
        method: int
        data_source: StrPath  # where the compressed bytes are
        data_offset: int
        data_length: int
        # Where the entry's local header starts in data_source, when data_source is an archive
        # this module wrote and the entry is read from it under its own name (read_entries); -1
        # otherwise. Runs of such entries are copied as one block (see _Writer.add_all).
        local_header: int = -1

    class _SourceFileFields(NamedTuple):
        name: str
        path: StrPath
        offset: int = 0
        length: int = -1

    class _TaskFields(NamedTuple):
        file: int  # its index in the sources
        piece: int | None  # None: the whole file
        cost: int  # bytes read at once
else:
    _EntryFields = namedtuple(
        "_EntryFields",
        "name mode crc size method data_source data_offset data_length local_header",
        defaults=[-1],
    )
    _SourceFileFields = namedtuple("_SourceFileFields", "name path offset length", defaults=[0, -1])
    _TaskFields = namedtuple("_TaskFields", "file piece cost")

_DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1
_DOS_TIME_MIDNIGHT = 0
_CREATE_SYSTEM_UNIX = 3
_VERSION = 20  # 2.0: deflate
_UTF8_FLAG = 0x800
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
_END_RECORD = struct.Struct("<IHHHHIIH")
_STORED, _DEFLATED = 0, 8
_MAX_ENTRIES = 0xFFFF
_MAX_SIZE = 0xFFFFFFFF
COMPRESS_LEVEL = 6  # what `zip -r` uses: the same size as the hand-written guide's archive

FILE_MODE = 0o644
EXECUTABLE_MODE = 0o755
DIRECTORY_MODE = 0o755


def normalised_mode(path_mode: int) -> int:
    """0755 for anything executable by its owner, else 0644: readable by Lambda's user."""
    return EXECUTABLE_MODE if path_mode & stat.S_IXUSR else FILE_MODE


# Tuples rather than dataclasses: this module is on a rebuild's start-up path, and
# dataclasses import inspect (several milliseconds).
class Entry(_EntryFields):
    """One file of an archive, already compressed (data is the compressed stream)."""

    __slots__ = ()


class SourceFile(_SourceFileFields):
    """A file on disk to be stored under `name`; or, with a `length`, that many bytes of
    `path` from `offset` (a pyc in the compiler's blob), stored with mode 0644."""

    __slots__ = ()

    def read(self) -> bytes:
        if self.length < 0:
            with open(self.path, "rb") as whole:
                return whole.read()
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(self.length)
        if len(data) != self.length:
            raise BuildError(f"{self.path} is shorter than the compiler said", "build again")
        return data

    def mode(self) -> int:
        return normalised_mode(os.stat(self.path).st_mode) if self.length < 0 else FILE_MODE

    def size(self) -> int:
        if self.length >= 0:
            return self.length
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0  # read (and failed on) by _compress, which names the file


# A file larger than _PIECE is deflated in pieces of _PIECE bytes, each primed with the
# _WINDOW bytes before it and ended with a sync flush, so that the pieces concatenate into one
# deflate stream (as pigz does) and compress on all cores: one large extension module
# (pydantic-core's 5 MB, numpy's OpenBLAS) would otherwise keep one thread busy long after
# the others are done. The pieces depend only on the file's bytes, never on the threads.
_PIECE = 256 << 10
_WINDOW = 32 << 10


def _pieces(size: int) -> list[tuple[int, int]]:
    """(offset, length) of the pieces a file of `size` bytes is deflated in."""
    return [(offset, min(_PIECE, size - offset)) for offset in range(0, size, _PIECE)] or [(0, 0)]


def _deflate_piece(raw: bytes | memoryview, start: int, length: int, last: bool) -> bytes:
    """Deflate raw[start:start+length] as one piece of the file's stream (see _PIECE)."""
    view = memoryview(raw)
    if start:
        compressor = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15, zdict=view[max(0, start - _WINDOW) : start])
    else:
        compressor = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(view[start : start + length]) + compressor.flush(
        zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
    )


def _read_piece(source: SourceFile, start: int, length: int, last: bool) -> bytes:
    """One piece of a large file, read with the window before it, deflated (in a thread)."""
    primed = min(start, _WINDOW)
    with open(source.path, "rb") as handle:
        handle.seek(source.offset + start - primed)
        data = handle.read(primed + length)
    if len(data) != primed + length:
        raise BuildError(f"{source.path} changed while it was being archived", "build again")
    return _deflate_piece(data, primed, length, last)


def _compress(source: SourceFile) -> tuple[bytes, int, int, int, int]:
    """(compressed bytes, method, crc, size, mode) of one file."""
    raw = source.read()
    pieces = _pieces(len(raw))
    packed = b"".join(
        _deflate_piece(raw, start, length, index == len(pieces) - 1) for index, (start, length) in enumerate(pieces)
    )
    method = _DEFLATED
    if len(packed) >= len(raw):  # already-compressed data: store it as it is
        packed, method = raw, _STORED
    return packed, method, zlib.crc32(raw), len(raw), source.mode()


def _checksum(source: SourceFile) -> tuple[int, int, int]:
    """(crc, size, mode) of a large file, whose pieces are deflated by other tasks; read in
    blocks, so that it holds no more than one."""
    crc = size = 0
    remaining = source.length if source.length >= 0 else None
    with open(source.path, "rb") as handle:
        handle.seek(source.offset)
        while block := handle.read(1 << 20 if remaining is None else min(1 << 20, remaining - size)):
            crc, size = zlib.crc32(block, crc), size + len(block)
    return crc, size, source.mode()


# What the compressing threads may hold at once (file pieces read, and their compressed
# bytes until written): the peak memory of a tree of large extension modules.
_IN_FLIGHT_BYTES = 32 << 20


class _Task(_TaskFields):
    """One unit of work for the pool: a small file whole, a piece of a large one, or a large
    file's checksum (piece -1)."""

    __slots__ = ()


class _LargeFile:
    """The parts of a large file gathered as its tasks finish."""

    def __init__(self, pieces: int) -> None:
        self.packed: list[bytes | None] = [None] * pieces
        self.checksum: tuple[int, int, int] | None = None

    def complete(self) -> bool:
        return self.checksum is not None and all(piece is not None for piece in self.packed)


def compress_files(sources: Iterable[SourceFile], scratch: StrPath, workers: int = 0) -> list[Entry]:
    """Compress files into one scratch file, in parallel threads (zlib releases the GIL);
    the entries in the order of `sources`.

    Large files are split into pieces (_PIECE) and go first; each file's bytes are written
    as soon as all its parts are compressed. What is read and not yet written is bounded
    (_IN_FLIGHT_BYTES, and a large file's own compressed size), so memory stays flat however
    large the tree. The archive is the same whatever the order the scratch file gets
    (entries point at their bytes), and the same as the sequential path below gives.
    """
    items = list(sources)
    if len(items) < 8 and all(item.size() <= _PIECE for item in items):
        # A rebuild's few edited files: a thread pool costs more than it saves.
        return _write_compressed(items, map(_compress, items), scratch)
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    workers = workers or min(4, os.cpu_count() or 1)
    sizes = [item.size() for item in items]
    queue = iter(_tasks(sizes))
    large: dict[int, _LargeFile] = {}
    entries: list[Entry | None] = [None] * len(items)
    running: dict[Future[Any], _Task] = {}
    held = 0
    with ThreadPoolExecutor(max_workers=workers) as pool, open(scratch, "wb") as out:

        def write(index: int, packed: bytes, method: int, crc: int, size: int, mode: int) -> None:
            entries[index] = Entry(items[index].name, mode, crc, size, method, scratch, out.tell(), len(packed))
            out.write(packed)

        while True:
            for task in queue:  # fill up to the bounds; at least one task is always in flight
                running[pool.submit(_run_task, items[task.file], task, sizes[task.file])] = task
                held += task.cost
                if len(running) >= workers * 4 or held >= _IN_FLIGHT_BYTES:
                    break
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                held -= task.cost
                if task.piece is None:
                    write(task.file, *future.result())
                    continue
                parts = large.setdefault(task.file, _LargeFile(len(_pieces(sizes[task.file]))))
                if task.piece < 0:
                    parts.checksum = future.result()
                else:
                    parts.packed[task.piece] = future.result()
                if parts.complete():
                    del large[task.file]
                    write(task.file, *_joined(items[task.file], parts, sizes[task.file]))
    return [entry for entry in entries if entry is not None]


def _tasks(sizes: list[int]) -> Iterator[_Task]:
    """Large files first, in pieces with a checksum task each, then the small files whole."""
    by_size = sorted(range(len(sizes)), key=lambda index: -sizes[index])
    for index in by_size:
        if sizes[index] > _PIECE:
            yield _Task(index, -1, 1 << 20)
            yield from (_Task(index, piece, length) for piece, (_, length) in enumerate(_pieces(sizes[index])))
    yield from (_Task(index, None, size) for index, size in enumerate(sizes) if size <= _PIECE)


def _run_task(source: SourceFile, task: _Task, size: int) -> Any:
    if task.piece is None:
        return _compress(source)
    if task.piece < 0:
        return _checksum(source)
    pieces = _pieces(size)
    start, length = pieces[task.piece]
    return _read_piece(source, start, length, task.piece == len(pieces) - 1)


def _joined(source: SourceFile, parts: _LargeFile, expected_size: int) -> tuple[bytes, int, int, int, int]:
    """A large file's (bytes, method, crc, size, mode) from its compressed pieces."""
    assert parts.checksum is not None
    crc, size, mode = parts.checksum
    if size != expected_size:  # the pieces were cut for another size
        raise BuildError(f"{source.path} changed while it was being archived", "build again")
    packed = b"".join(piece for piece in parts.packed if piece is not None)
    if len(packed) >= size:  # already-compressed data: read it again and store it
        raw = source.read()
        if len(raw) != size or zlib.crc32(raw) != crc:
            raise BuildError(f"{source.path} changed while it was being archived", "build again")
        return raw, _STORED, crc, size, mode
    return packed, _DEFLATED, crc, size, mode


def _write_compressed(
    items: list[SourceFile], compressed: Iterable[tuple[bytes, int, int, int, int]], scratch: StrPath
) -> list[Entry]:
    entries = []
    with open(scratch, "wb") as out:
        for item, (packed, method, crc, size, mode) in zip(items, compressed, strict=True):
            entries.append(Entry(item.name, mode, crc, size, method, scratch, out.tell(), len(packed)))
            out.write(packed)
    return entries


def _central_directory(archive: StrPath) -> tuple[int, bytes]:
    """(entry count, central directory) of a zip this module wrote.

    Such zips have no ZIP64 records, no comment and no extra fields, so the central
    directory is read directly (zipfile would cost more to import than this whole read).
    """
    count, size, offset = _end_record(archive)
    with open(archive, "rb") as handle:
        handle.seek(offset)
        directory = handle.read(size)
    return count, directory


def _central_records(archive: StrPath) -> Iterator[tuple[str, tuple[int, ...]]]:
    """(name, central header fields) of each entry of a zip this module wrote, folders too."""
    count, directory = _central_directory(archive)
    position = 0
    for _ in range(count):
        fields = _CENTRAL_HEADER.unpack_from(directory, position)
        start = position + _CENTRAL_HEADER.size
        name_length = fields[10]
        encoding = "utf-8" if fields[3] & _UTF8_FLAG else "cp437"
        yield directory[start : start + name_length].decode(encoding), fields
        position = start + name_length + fields[11] + fields[12]


def read_entries(archive: StrPath, skip: int = 0) -> list[Entry]:
    """The file entries of a zip written by this module, pointing at their compressed bytes;
    `skip`: leave out the first so many central records (a base's, see ArchiveOutput).

    One loop over the central directory, without a record per entry in between: an
    app-only rebuild reads thousands of them before it writes anything."""
    count, directory = _central_directory(archive)
    unpack_from, header_size, local_size = _CENTRAL_HEADER.unpack_from, _CENTRAL_HEADER.size, _LOCAL_HEADER.size
    entries: list[Entry] = []
    append = entries.append
    position = 0
    for index in range(count):
        # fmt: off
        (_, _, _, flags, method, _, _, crc, length, size, name_length, extra_length, comment_length,
         _, _, external, header_offset) = unpack_from(directory, position)
        # fmt: on
        start = position + header_size
        position = start + name_length + extra_length + comment_length
        if index < skip:
            continue
        name = directory[start : start + name_length].decode("utf-8" if flags & _UTF8_FLAG else "cp437")
        if name[-1:] == "/":
            continue
        # No extra field in our local headers: the data starts right after the name.
        data_offset = header_offset + local_size + name_length
        mode = (external >> 16) & 0o7777
        append(Entry(name, mode, crc, size, method, archive, data_offset, length, header_offset))
    return entries


def entry_bytes(entry: Entry) -> bytes:
    """The uncompressed contents of an entry (stored or deflated)."""
    with open(entry.data_source, "rb") as handle:
        handle.seek(entry.data_offset)
        raw = handle.read(entry.data_length)
    return zlib.decompress(raw, -15) if entry.method == 8 else raw


def with_prefix(entries: Iterable[Entry], prefix: str) -> list[Entry]:
    # Renamed: the local header in the source names the entry otherwise.
    return [entry._replace(name=prefix + entry.name, local_header=-1) for entry in entries]


def _directories(names: Iterable[str]) -> set[str]:
    """Every folder above `names` ("a/b/c.py": "a/", "a/b/"); a name's parents are walked up
    only until one is known (thousands of names share a few folders)."""
    folders: set[str] = set()
    for name in names:
        end = name.rfind("/")
        while end > 0:
            folder = name[: end + 1]
            if folder in folders:
                break
            folders.add(folder)
            end = name.rfind("/", 0, end)
    return folders


def _copy_range(source: BinaryIO, destination: BinaryIO | _HashingFile, length: int) -> None:
    remaining = length
    while remaining:
        chunk = source.read(min(remaining, 1 << 20))
        if not chunk:
            raise BuildError("a cached archive is truncated", "remove the uv-lambda cache and build again")
        destination.write(chunk)
        remaining -= len(chunk)


# A run of entries copied as one block is read into memory whole: at most this many bytes
# (blocks of this size reuse the memory freed by the one before: a larger read is slower).
_BLOCK_BYTES = 1 << 20


class _Writer:
    """Writes local entries to `out` and collects their central directory records."""

    def __init__(self, out: _HashingFile) -> None:
        self.out = out
        self.central = bytearray()
        self.count = 0
        self._sources: dict[StrPath, BinaryIO] = {}

    def add_all(self, items: Iterable[tuple[str, Entry | None]]) -> None:
        """`add` each (name, entry), in order. Runs of entries whose local headers and data
        follow each other in one archive this module wrote (Entry.local_header) are copied as
        one block: after an app-only rebuild, the unchanged entries of the previous artifact.
        The bytes are the ones `add` writes (each header in the block is checked against it)."""
        run: list[tuple[str, Entry]] = []
        run_bytes = 0
        for name, entry in items:
            if entry is not None and entry.local_header >= 0:
                previous = run[-1][1] if run else None
                follows = (
                    previous is not None
                    and (entry.data_source is previous.data_source or entry.data_source == previous.data_source)
                    and entry.local_header == previous.data_offset + previous.data_length
                )
                length = entry.data_offset + entry.data_length - entry.local_header
                if not follows or run_bytes + length > _BLOCK_BYTES:
                    self._add_run(run)
                    run, run_bytes = [], 0
                run.append((name, entry))
                run_bytes += length
                continue
            self._add_run(run)
            run, run_bytes = [], 0
            self.add(name, entry)
        self._add_run(run)

    def _add_run(self, run: list[tuple[str, Entry]]) -> None:
        if len(run) < 2:
            for name, entry in run:
                self.add(name, entry)
            return
        first, last = run[0][1], run[-1][1]
        start, end = first.local_header, last.data_offset + last.data_length
        source = self._source(first.data_source)
        source.seek(start)
        block = source.read(end - start)
        if len(block) != end - start:
            raise BuildError("a cached archive is truncated", "remove the uv-lambda cache and build again")
        at = self.out.tell()
        central = bytearray()
        for name, entry in run:
            position = entry.local_header - start
            local, record = _headers(name, entry, at + position)
            if entry.data_offset - entry.local_header != len(local) or not block.startswith(local, position):
                # Not the header `add` writes (an archive of another writer): entry by entry.
                for each in run:
                    self.add(*each)
                return
            central += record
        self.out.write(block)
        self.central += central
        self.count += len(run)

    def _source(self, path: StrPath) -> BinaryIO:
        source = self._sources.get(path)
        if source is None:
            source = self._sources[path] = open(path, "rb")  # noqa: SIM115 (close() closes them all)
        return source

    def add(self, name: str, entry: Entry | None) -> None:
        """Write `entry` under `name`; None writes a 0755 folder entry."""
        local, record = _headers(name, entry, self.out.tell())
        self.out.write(local)
        if entry is not None:
            source = self._source(entry.data_source)
            source.seek(entry.data_offset)
            _copy_range(source, self.out, entry.data_length)
        self.central += record
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


def _headers(name: str, entry: Entry | None, offset: int) -> tuple[bytes, bytes]:
    """(local header, central directory record) of `entry` stored under `name` at `offset`;
    None: a 0755 folder entry."""
    encoded = name.encode("utf-8")
    flags = 0 if encoded.isascii() else _UTF8_FLAG
    if entry is None:
        mode, crc, size, method, length = stat.S_IFDIR | DIRECTORY_MODE, 0, 0, 0, 0
        external = (mode << 16) | 0x10  # MS-DOS directory bit, as zip(1) sets it
    else:
        mode = stat.S_IFREG | entry.mode
        crc, size, method, length = entry.crc, entry.size, entry.method, entry.data_length
        external = mode << 16
    if offset > _MAX_SIZE or size > _MAX_SIZE:
        raise BuildError("the archive is larger than 4 GB", "Lambda accepts at most 250 MB unzipped")
    # fmt: off
    local = _LOCAL_HEADER.pack(
        0x04034B50, _VERSION, flags, method, _DOS_TIME_MIDNIGHT, _DOS_DATE_1980_01_01,
        crc, length, size, len(encoded), 0,
    ) + encoded
    record = _CENTRAL_HEADER.pack(
        0x02014B50, (_CREATE_SYSTEM_UNIX << 8) | _VERSION, _VERSION, flags, method,
        _DOS_TIME_MIDNIGHT, _DOS_DATE_1980_01_01, crc, length, size, len(encoded),
        0, 0, 0, 0, external, offset,
    ) + encoded
    # fmt: on
    return local, record


def _end_record(base: StrPath) -> tuple[int, int, int]:
    """(entry count, central directory size, central directory offset) of our own archive."""
    with open(base, "rb") as handle:
        handle.seek(-_END_RECORD.size, os.SEEK_END)
        signature, _, _, _, count, size, offset, comment = _END_RECORD.unpack(handle.read(_END_RECORD.size))
    if signature != 0x06054B50 or comment:
        raise BuildError(f"{base} is not an archive uv-lambda wrote", "remove the uv-lambda cache and build again")
    return count, size, offset


class _HashingFile:
    """A file opened for writing that hashes what goes through it: no second read for the digest.

    Writes are gathered into blocks of _BLOCK bytes: an archive of thousands of small entries
    makes three writes per entry, and each costs a call to the hash and to the file."""

    _BLOCK = 1 << 20

    def __init__(self, path: StrPath) -> None:
        self._path = path
        try:
            self._file = open(path, "wb")  # noqa: SIM115 (kept open until close())
        except OSError as exc:
            raise with_path(exc, path) from None
        self._position = 0
        self._pending = bytearray()
        self._sha256 = hashlib.sha256()
        self._syncing: LockType | None = None  # see sync_in_background

    @property
    def sha256(self) -> hashlib._Hash:
        self._flush()
        return self._sha256

    def write(self, data: bytes | bytearray) -> int:
        self._position += len(data)
        if len(data) >= self._BLOCK:  # a block of its own: not copied
            self._flush()
            self._write(data)
            return len(data)
        self._pending += data
        if len(self._pending) >= self._BLOCK:
            self._flush()
        return len(data)

    def _flush(self) -> None:
        if self._pending:
            self._write(self._pending)
            self._pending = bytearray()

    def _write(self, data: bytes | bytearray) -> None:
        self._sha256.update(data)
        try:
            self._file.write(data)
        except OSError as exc:
            raise with_path(exc, self._path) from None

    def tell(self) -> int:
        return self._position

    def sync_in_background(self) -> None:
        """Start putting what is written so far on the disk, on a thread (fdatasync holds no
        interpreter lock): the fsync before the file's rename (atomic.commit_all) then has
        only what is written after this to wait for. close() waits for it; an error is the
        final fsync's to report."""
        import _thread

        self._flush()
        try:
            self._file.flush()
        except OSError as exc:
            raise with_path(exc, self._path) from None
        lock = _thread.allocate_lock()
        lock.acquire()

        def sync(descriptor: int) -> None:
            try:
                os.fdatasync(descriptor)
            except OSError:
                pass
            finally:
                lock.release()

        self._syncing = lock
        _thread.start_new_thread(sync, (self._file.fileno(),))

    def close(self) -> None:
        if self._syncing is not None:  # the descriptor stays open until the sync is done
            self._syncing.acquire()
            self._syncing = None
        self._flush()
        try:
            self._file.close()  # flushes: a full disk may show only now
        except OSError as exc:
            raise with_path(exc, self._path) from None


class ArchiveOutput:
    """An archive written in two steps, so that the first can overlap other work.

    The constructor copies the base archive's entries (the big, unchanging part: the
    dependencies); `finish` adds the other entries and the central directory. With `base`
    (an archive this module wrote), the base's bytes come first, copied as they are: its
    local entries and central directory records stay valid because they keep their offsets.
    When an entry to come has a name the base already holds, the archives are merged entry
    by entry instead, and the later entry wins. `names` are the names of the entries to come.
    """

    def __init__(
        self, destination: StrPath, base: StrPath | None, names: Iterable[str], base_sha256: str | None = None
    ) -> None:
        self._destination = destination
        self._merge_base: StrPath | None = None
        self._base_names: set[str] = set()
        self._previous_central, self._previous_count = b"", 0
        self._appended_at = 0
        if base is not None and base_sha256 is not None:
            try:
                self._open_verified(base, base_sha256, names)
            except DamagedCacheEntry:
                raise
            except (OSError, ValueError, struct.error, UnicodeDecodeError, BuildError) as exc:
                if isinstance(exc, OSError) and exc.filename == str(destination):
                    raise  # writing the output failed (a full disk): not the cache's fault
                # A damaged cache entry: the caller drops it and builds it again.
                raise DamagedCacheEntry(str(base), str(exc) or type(exc).__name__) from None
            return
        if base is not None:
            self._base_names = {name for name, _ in _central_records(base)}
            if self._base_names.intersection(names):
                self._merge_base, self._base_names = base, set()
        self._out = _HashingFile(destination)
        try:
            if base is not None and self._merge_base is None:
                self._previous_count, central_size, central_offset = _end_record(base)
                with open(base, "rb") as source:
                    _copy_range(source, self._out, central_offset)
                    self._previous_central = source.read(central_size)
        except BaseException:
            self._out.close()
            raise

    def _open_verified(self, base: StrPath, sha256: str, names: Iterable[str]) -> None:
        """As __init__, for a cached `base` whose bytes must have the digest `sha256`.

        The usual case (no merge) checks the digest on the bytes as they are copied: the
        output's running hash is the base's up to its central directory.
        """
        self._base_names = {name for name, _ in _central_records(base)}
        if self._base_names.intersection(names):
            if file_sha256(base) != sha256:
                raise DamagedCacheEntry(str(base), "its sha256 does not match")
            self._merge_base, self._base_names = base, set()
            self._out = _HashingFile(self._destination)
            return
        self._out = _HashingFile(self._destination)
        try:
            self._previous_count, central_size, central_offset = _end_record(base)
            with open(base, "rb") as source:
                _copy_range(source, self._out, central_offset)
                self._previous_central = source.read(central_size)
                tail = source.read()
            check = self._out.sha256.copy()
            check.update(self._previous_central)
            check.update(tail)
            if check.hexdigest() != sha256:
                raise DamagedCacheEntry(str(base), "its sha256 does not match")
        except BaseException:
            self._out.close()
            raise

    @property
    def appended_after(self) -> tuple[int, int] | None:
        """Where the entries given to `finish` are in the finished archive: after how many
        central records (the base's) and from which offset (the end of the base's entries);
        None when they are merged with the base's entries instead."""
        return None if self._merge_base is not None else (self._previous_count, self._appended_at)

    @property
    def size(self) -> int:
        """Bytes written so far: the archive's size once finished."""
        return self._out.tell()

    def sync_in_background(self) -> None:
        """Start putting the base copied so far on the disk while other work goes on (an
        app-only rebuild: 5 MB of dependencies, 3.5 ms less before its rename)."""
        self._out.sync_in_background()

    def close(self) -> None:
        """Close the output (finish does); for an archive abandoned half-way."""
        self._out.close()

    def finish(self, entries: Iterable[Entry]) -> bytes:
        """Write `entries` (plus a 0755 entry for every folder) sorted by name; the archive's sha256."""
        by_name = {entry.name: entry for entry in entries}
        self._appended_at = self._out.tell()
        if self._merge_base is not None:
            merged = {entry.name: entry for entry in read_entries(self._merge_base)}
            merged.update(by_name)
            by_name = merged
        writer = _Writer(self._out)
        try:
            names = sorted((set(by_name) | _directories(by_name)) - self._base_names)
            writer.add_all((name, by_name.get(name)) for name in names)
            writer.finish(self._previous_central, self._previous_count)
        finally:
            writer.close()
            self._out.close()
        return self._out.sha256.digest()


def write_archive(
    destination: StrPath, entries: Iterable[Entry], *, base: StrPath | None = None, base_sha256: str | None = None
) -> bytes:
    """Write `entries` sorted by name after `base`'s (see ArchiveOutput); the archive's sha256.

    With `base_sha256`, a `base` whose bytes do not have that digest raises DamagedCacheEntry
    (the destination is then incomplete: the caller's scratch)."""
    entries = list(entries)
    return ArchiveOutput(destination, base, [entry.name for entry in entries], base_sha256).finish(entries)


def file_sha256(path: StrPath, start: int = 0) -> str:
    """Hex sha256 of a file (from byte `start`), read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        handle.seek(start)
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified_entries(path: StrPath, sha256: str, skip: int = 0, start: int = 0) -> list[Entry]:
    """read_entries(path, skip) of an archive whose bytes from `start` must have the digest
    `sha256` (the entries read and the central directory are there)."""
    try:
        if file_sha256(path, start) != sha256:
            raise DamagedCacheEntry(str(path), "its sha256 does not match")
        return read_entries(path, skip)
    except DamagedCacheEntry:
        raise
    except (OSError, ValueError, struct.error, UnicodeDecodeError, BuildError) as exc:
        raise DamagedCacheEntry(str(path), str(exc) or type(exc).__name__) from None
