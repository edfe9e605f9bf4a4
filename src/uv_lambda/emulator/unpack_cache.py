"""Unpacked artifacts kept between local runs, and updated file by file.

Unpacking a whole artifact costs seconds on a large function, and after an app-only rebuild
almost nothing in it changed. So the unpacked task root and layers of each artifact (by the
real paths of its code zip and layers: a *slot*) stay in the cache, as *generations*:

<cache>/unpacked/<slot>/
    lock                 held while a run picks or makes a generation (one at a time)
    current              the name of the newest complete generation
    g<n>/task, g<n>/opt  one unpacked tree; g<n>/entries.json says what it holds
    g<n>/lease           held (shared) by every run that uses g<n>

A run compares the archives' entries (name, CRC-32 and size from the central directories,
executable bit) with the current generation's. The same entries: the generation is used as
it is. Otherwise a new generation is made beside it: hard links to the files that did not
change, the changed ones unpacked, then `current` switched to it. A run in flight keeps the
generation it started with (its lease), a new run gets the new one, and a generation is
removed only once nobody holds its lease.

Every archive passes unpack_checks (Lambda's size limit, an entry limit, entries that can be
placed) before anything is written, as for a fresh unpack. The trees are read-only, as
Lambda's /var/task and /opt are; a file changed anyway (by a run as root) is seen by its size
and modification time and unpacked again.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from uv_lambda.emulator.layout import _UNREADABLE, Layout, _not_a_zip, _open
from uv_lambda.emulator.unpack_checks import Entry, UnpackChecks
from uv_lambda.errors import UvLambdaError

# name in the tree ("task/app/main.py") -> [CRC-32, size, executable, mtime_ns once written]
Manifest = dict[str, list[int]]
_ENTRIES = "entries.json"


class Lease:
    """A run's hold on one generation: a shared lock on its lease file, released on close."""

    def __init__(self, generation: Path) -> None:
        self.generation = generation
        self._fd: int | None = os.open(generation / "lease", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def cache_folder() -> Path:
    from uv_lambda.cache import cache_root

    return cache_root() / "unpacked"


def slot_of(code: Path, layers: Sequence[Path]) -> Path:
    key = json.dumps([os.path.realpath(code), *(os.path.realpath(layer) for layer in layers)])
    return cache_folder() / hashlib.sha256(key.encode()).hexdigest()[:24]


class _Wanted:
    """What the archives unpack to: files (the last archive to name one wins) and folders."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[zipfile.ZipFile, Entry, Path, str]] = {}
        self.folders: set[str] = {"task", "opt"}

    def add(self, bundle: zipfile.ZipFile, entries: list[Entry], archive: Path, what: str, folder: str) -> None:
        for entry in entries:
            name = f"{folder}/{entry.path}" if entry.path else folder
            if entry.info.is_dir():
                self.folders.add(name)
            else:
                self.files[name] = (bundle, entry, archive, what)
                self.folders.update(_parents(name))

    def signature(self) -> dict[str, list[int]]:
        return {name: [e.info.CRC, e.info.file_size, _executable(e)] for name, (_, e, _, _) in self.files.items()}


def _parents(name: str) -> list[str]:
    parts = name.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts))]


def _executable(entry: Entry) -> int:
    return 1 if (entry.info.external_attr >> 16) & stat.S_IXUSR else 0


def unpack(code: Path, layers: Sequence[Path] = ()) -> Layout:
    """The code zip and the layer zips (in order) unpacked: a generation of their slot, leased."""
    with ExitStack() as open_archives:
        checks = UnpackChecks()
        wanted = _Wanted()
        for archive, what, folder in [(code, "code zip", "task"), *((layer, "layer", "opt") for layer in layers)]:
            bundle = open_archives.enter_context(_open(archive, what))
            try:
                infos = bundle.infolist()
            except _UNREADABLE as exc:
                raise _not_a_zip(what, archive, exc) from None
            wanted.add(bundle, checks.check(archive, infos, what=what, destination=folder), archive, what, folder)
        slot = slot_of(code, layers)
        slot.mkdir(parents=True, exist_ok=True)
        with _locked(slot / "lock"):
            generation = _up_to_date(slot, wanted)
            lease = Lease(generation)
            _remove_unused(slot, keep=generation)
    return Layout(generation, generation / "task", generation / "opt", lease.release)


class _locked:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1

    def __enter__(self) -> None:
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)


def _read_current(slot: Path) -> tuple[Path, Manifest, dict[str, int]] | None:
    try:
        generation = slot / (slot / "current").read_text().strip()
        document = json.loads((generation / _ENTRIES).read_text())
        return generation, document["files"], document["folders"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _intact(generation: Path, manifest: Manifest) -> dict[str, list[int]]:
    """The files of `generation` as they were written (size and mtime unchanged), by name."""
    intact = {}
    for name, (crc, size, executable, mtime) in manifest.items():
        try:
            status = os.stat(generation / name)
        except OSError:
            continue
        if status.st_size == size and status.st_mtime_ns == mtime:
            intact[name] = [crc, size, executable]
    return intact


def _folders_unchanged(generation: Path, folders: dict[str, int]) -> bool:
    """No file was added to or removed from any folder since it was written."""
    try:
        return all(os.stat(generation / name).st_mtime_ns == mtime for name, mtime in folders.items())
    except OSError:
        return False


def _up_to_date(slot: Path, wanted: _Wanted) -> Path:
    """The current generation when it holds what `wanted` says, else a new one made from it."""
    signature = wanted.signature()
    current = _read_current(slot)
    reusable: dict[str, list[int]] = {}
    if current is not None:
        generation, manifest, folders = current
        reusable = _intact(generation, manifest)
        if reusable == signature and set(folders) == wanted.folders and _folders_unchanged(generation, folders):
            return generation
    source = current[0] if current is not None else None
    made = _make_generation(slot, wanted, signature, source, reusable)
    temporary = slot / f".current.{os.getpid()}"
    temporary.write_text(made.name)
    temporary.replace(slot / "current")
    return made


def _make_generation(
    slot: Path, wanted: _Wanted, signature: dict[str, list[int]], source: Path | None, reusable: dict[str, list[int]]
) -> Path:
    name = f"g{time.time_ns()}"
    scratch = slot / f".{name}"
    scratch.mkdir()
    files: Manifest = {}
    written = scratch
    try:
        for folder in sorted(wanted.folders):
            (scratch / folder).mkdir(exist_ok=True)
        for member, (bundle, entry, archive, what) in wanted.files.items():
            written = scratch / member
            if source is not None and reusable.get(member) == signature[member]:
                try:
                    os.link(source / member, written)
                    files[member] = [*signature[member], os.stat(written).st_mtime_ns]
                    continue
                except OSError:
                    pass  # another file system, or a link limit: unpack it instead
            try:
                data = bundle.read(entry.info)  # checks the CRC
            except _UNREADABLE as exc:
                raise _not_a_zip(what, archive, exc) from None
            mode = 0o555 if signature[member][2] else 0o444
            descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            files[member] = [*signature[member], os.stat(written).st_mtime_ns]
        # Read-only, deepest first; a folder's mtime is taken once nothing more is added to it.
        folders = {}
        for folder in sorted(wanted.folders, key=lambda f: f.count("/"), reverse=True):
            os.chmod(scratch / folder, 0o555)
            folders[folder] = os.stat(scratch / folder).st_mtime_ns
        (scratch / _ENTRIES).write_text(json.dumps({"files": files, "folders": folders}))
        scratch.rename(slot / name)
    except BaseException as exc:
        _remove_tree(scratch)
        if isinstance(exc, OSError):
            raise _write_error(exc, written) from None
        raise
    return slot / name


def _write_error(exc: OSError, written: Path) -> UvLambdaError:
    where = tempfile.gettempdir() if not str(written).startswith(str(cache_folder())) else str(cache_folder())
    if exc.errno == errno.ENOSPC:
        return UvLambdaError(
            f"no space left on device writing {written} (unpacking the function for a local run)",
            f"free space in {where}, or point UV_LAMBDA_CACHE_DIR at a larger file system",
        )
    return UvLambdaError(
        f"cannot unpack the function for a local run: {exc.strerror} ({written})",
        f"check the space and permissions of {where} (UV_LAMBDA_CACHE_DIR)",
    )


def _remove_unused(slot: Path, keep: Path) -> None:
    """Remove every generation but `keep` that no run holds, and what a crashed run left."""
    for path in slot.iterdir():
        if path == keep or not path.is_dir():
            continue
        if path.name.startswith("."):
            _remove_tree(path)  # a generation never finished (the slot's lock is ours)
            continue
        try:
            fd = os.open(path / "lease", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # in use by a run
        finally:
            os.close(fd)
        _remove_tree(path)


def _remove_tree(path: Path) -> None:
    """shutil.rmtree for a tree whose folders are read-only."""
    for folder, _, _ in os.walk(path):
        os.chmod(folder, 0o755)
    shutil.rmtree(path, ignore_errors=True)
