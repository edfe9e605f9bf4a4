"""Unpacked artifacts kept between local runs, and updated file by file.

Unpacking a whole artifact costs seconds on a large function, and after an app-only rebuild
almost nothing in it changed. So the unpacked task root and layers of each artifact (by the
real paths of its code zip and layers: a *slot*) stay in the cache, as *generations*:

<cache>/unpacked/<slot>/
    lock                 held while a run picks or makes a generation (one at a time)
    current              the name of the newest complete generation
    g<n>/task, g<n>/opt  one unpacked tree; g<n>/entries.json says what it holds
    g<n>/lease           held (shared) by every run that uses g<n>
    .draft/              the next generation, prepared: hard links to all of current's files
    .scratch-*, .trash-* a tree being written; trees being removed

A run compares the archives' entries (name, CRC-32 and size from the central directories,
executable bit) with the current generation's. The same entries: the generation is used as
it is. Otherwise a new generation is made from the draft: only the changed files are
unlinked and unpacked again, then `current` is switched to it. Without a draft, when nobody
holds the current generation (the previous run was a one-shot `invoke`) and the changed
files are small, the current generation itself is taken as the draft: the changed files are
read (and their CRCs checked) first, then it is renamed and updated; only otherwise is every
unchanged file linked into a new tree. A run in flight keeps the generation it started with (its
lease), a new run gets the new one, and a generation is removed only once nobody holds its
lease. The next draft is linked, and old trees removed, on a background thread while the
function runs (`finish_background_work` waits for it before a command exits). A draft is
renamed and updated, never copied: `serve --watch` starts the next environment on it before
the rebuild is unpacked (early_start.py), and the generation made from it is the same
folders, with the names that changed in its Layout.

Every archive passes unpack_checks (Lambda's size limit, an entry limit, entries that can be
placed) before anything is written, as for a fresh unpack. Files are read-only, as Lambda's
/var/task and /opt are; a file changed anyway (as root can) is seen by its size and
modification time and unpacked again, and a file added to a folder by a folder's mtime.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uv_lambda import atomic
from uv_lambda.emulator.layout import Layout
from uv_lambda.emulator.unpack_checks import Entry, UnpackChecks
from uv_lambda.errors import UsageError, UvLambdaError

if TYPE_CHECKING:
    from uv_lambda.bundle.rebuild.changes import ArtifactChange

# What zipfile raises for an archive it cannot read: a broken central directory or stream
# (BadZipFile, EOFError, zlib.error), an unsupported compression (NotImplementedError), an
# encrypted entry (RuntimeError).
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError)


def _not_a_zip(what: str, archive: Path, exc: BaseException | str) -> UsageError:
    return UsageError(f"{what} {archive} is not a valid zip file ({exc})", "rebuild it with `uv-lambda build`")


def _open(archive: Path, what: str) -> zipfile.ZipFile:
    if not archive.is_file():
        raise UsageError(f"{what} {archive} does not exist", "build it with `uv-lambda build`")
    try:
        return zipfile.ZipFile(archive)
    except _UNREADABLE as exc:
        raise _not_a_zip(what, archive, exc) from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {archive}: {exc.strerror}", "check its path and permissions") from None


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


_Source = tuple[zipfile.ZipFile, Entry, Path, str]  # where a file's data is: (open archive, entry, path, what)


class _Wanted:
    """What the archives unpack to: files (the last archive to name one wins) and folders;
    `archives`: each archive's [real path, *identity] (see bundle/rebuild/changes.py).

    Made from a rebuild's note (`_wanted_after`), a file has no source: its data is in `ready`
    when it changed, and it is the current generation's otherwise."""

    def __init__(self) -> None:
        self.files: dict[str, _Source | None] = {}
        self.folders: set[str] = {"task", "opt"}
        self.archives: list[list[object]] = []
        self.ready: dict[str, bytes] = {}
        self.signed: dict[str, list[int]] | None = None

    def add(self, bundle: zipfile.ZipFile, entries: list[Entry], archive: Path, what: str, folder: str) -> None:
        self.archives.append([os.path.realpath(archive), *_identity(os.fstat(bundle.fp.fileno()))])  # type: ignore[union-attr]
        for entry in entries:
            name = f"{folder}/{entry.path}" if entry.path else folder
            if entry.info.is_dir():
                self.folders.update([*_parents(name), name])
            else:
                self.files[name] = (bundle, entry, archive, what)
                self.folders.update(_parents(name))

    def signature(self) -> dict[str, list[int]]:
        if self.signed is not None:
            return self.signed
        return {name: [s[1].info.CRC, s[1].info.file_size, _executable(s[1])] for name, s in self.files.items() if s}

    def source(self, member: str) -> _Source:
        source = self.files[member]
        if source is None:  # a file that could not be linked from the current generation
            raise _NoSource(member)
        return source


class _NoSource(Exception):
    """A file made from a rebuild's note needs the archive's data after all: read the archive."""


def _identity(status: os.stat_result) -> list[int]:
    return [status.st_size, status.st_mtime_ns, status.st_ino]  # as bundle/rebuild/changes.identity


def _parents(name: str) -> list[str]:
    parts = name.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts))]


def _executable(entry: Entry) -> int:
    return 1 if (entry.info.external_attr >> 16) & stat.S_IXUSR else 0


def unpack(code: Path, layers: Sequence[Path] = (), *, draft: bool = True) -> Layout:
    """The code zip and the layer zips (in order) unpacked: a generation of their slot, leased.

    `draft`: link the next generation's draft in the background (for a process that runs the
    function again while it holds this generation, as `serve` does). A one-shot run (`invoke`)
    skips it: its generation is unheld when the next run comes, which then updates it in place.

    After an app-only rebuild in this process, the rebuild's note of what it changed
    (bundle/rebuild/changes.py) stands for the code zip when the current generation was made
    from the archive the note starts from: only the changed entries are checked and written."""
    from uv_lambda.bundle.rebuild import changes

    slot = slot_of(code, layers)
    change = changes.take(code)
    settled = None
    if change is not None:
        with _locked(slot / "lock"):
            known = _wanted_after(slot, code, layers, change)
            if known is not None:
                with contextlib.suppress(_NoSource):
                    settled = _settle(slot, *known)
    if settled is None:
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
            with _locked(slot / "lock"):
                settled = _settle(slot, wanted, None)
    generation, changed, lease, drafted = settled
    _in_background(lambda: _tidy(slot, None if drafted or not draft else generation))
    return Layout(generation, generation / "task", generation / "opt", lease.release, changed)


_Current = tuple[Path, Manifest, dict[str, int]]


def _settle(
    slot: Path, wanted: _Wanted, known: tuple[_Current, dict[str, list[int]]] | None
) -> tuple[Path, frozenset[str] | None, Lease, bool]:
    """Under the slot's lock: the generation holding `wanted`, leased; whether its draft is linked."""
    os.utime(slot / "lock")  # when the slot was last used (see _prune)
    generation, changed = _up_to_date(slot, wanted, known)
    lease = Lease(generation)
    _retire(slot, keep=generation)
    return generation, changed, lease, _draft_base(slot / _DRAFT) == generation.name


def _wanted_after(
    slot: Path, code: Path, layers: Sequence[Path], change: ArtifactChange
) -> tuple[_Wanted, tuple[_Current, dict[str, list[int]]]] | None:
    """What the archives unpack to, from the current generation and the rebuild's note, when
    the generation was made from the archives the note starts from and its files are intact;
    the changed entries pass the checks a fresh unpack makes. None: read the archives."""
    document = _read_document(slot)
    if document is None:
        return None
    generation, content = document
    try:
        layer_ids = [[os.path.realpath(layer), *_identity(os.stat(layer))] for layer in layers]
        manifest, folders = content["files"], content["folders"]
    except (OSError, KeyError, TypeError):
        return None
    if content.get("archives") != [[os.path.realpath(code), *change.before], *layer_ids]:
        return None
    current: _Current = (generation, manifest, folders)
    signature = {name: value[:3] for name, value in manifest.items()}
    for name in change.removed:
        signature.pop(f"task/{name}", None)
    infos = []
    wanted = _Wanted()
    for name, entry in change.entries.items():
        info = zipfile.ZipInfo(name)
        info.file_size, info.CRC = len(entry.data), entry.crc
        info.external_attr = (0o100755 if entry.executable else 0o100644) << 16
        infos.append(info)
        signature[f"task/{name}"] = [entry.crc, len(entry.data), int(entry.executable)]
        wanted.ready[f"task/{name}"] = entry.data
    intact = _intact(generation, manifest)
    # Every file of the generation intact (the usual case) means every unchanged one is: the
    # signature of those is the manifest's, which is what `intact` holds.
    if len(intact) != len(manifest) and any(
        intact.get(name, [])[:3] != value for name, value in signature.items() if name not in wanted.ready
    ):
        return None  # a file changed by hand: the archive has its data
    wanted.folders = set(folders)
    if change.removed or any(name not in manifest for name in wanted.ready):
        explicit = wanted.folders - {parent for name in manifest for parent in _parents(name)}
        wanted.folders = {"task", "opt", *explicit, *(parent for name in signature for parent in _parents(name))}
    task_files = {name[5:] for name in signature if name.startswith("task/")}
    task_folders = {folder[5:] for folder in wanted.folders if folder.startswith("task/")}
    unchanged = [value[1] for name, value in signature.items() if name not in wanted.ready]
    UnpackChecks().check_update(
        code,
        infos,
        what="code zip",
        unchanged=(len(unchanged) + len(wanted.folders), sum(unchanged)),
        files=task_files,
        folders=task_folders,
    )
    wanted.files = dict.fromkeys(signature)
    wanted.signed = signature
    wanted.archives = [[os.path.realpath(code), *change.after], *layer_ids]
    return wanted, (current, intact)


def current_tree(code: Path, layers: Sequence[Path] = ()) -> Layout | None:
    """The current generation of the archives' slot, unleased, as it is now: the tree a
    one-shot run's unpack updates in place when nobody holds it (see early_start.py)."""
    # Its name only (entries.json, thousands of files, is the unpack's to read): an early
    # start runs on it while the build goes on, and is not adopted unless the unpack updates
    # this very tree in place.
    slot = slot_of(code, layers)
    try:
        generation = slot / (slot / "current").read_text().strip()
    except OSError:
        return None
    if not (generation / _ENTRIES).is_file():
        return None
    return Layout(generation, generation / "task", generation / "opt", lambda: None)


def draft_of(layout: Layout) -> Layout | None:
    """The draft linked from `layout`'s generation (the tree the next generation will be made
    of, in place), or None when there is none yet. Nothing holds it: see early_start.py."""
    slot, name = layout.root.parent, layout.root.name
    draft = slot / _DRAFT
    if layout.release is None or _draft_base(draft) != name:
        return None
    return Layout(draft, draft / "task", draft / "opt", lambda: None)


_DRAFT = ".draft"
_STAMPS = "stamps.json"  # the draft's folders' mtimes, taken when it was linked
_background: list[threading.Thread] = []


def _in_background(work: Callable[[], None]) -> None:
    def run() -> None:
        try:
            work()
        except OSError as exc:  # the cache is tidied by a later run then
            import logging

            logging.getLogger(__name__).debug("unpack cache: %s", exc)

    thread = threading.Thread(target=run, name="unpack-cache", daemon=True)
    thread.start()
    _background[:] = [*(other for other in _background if other.is_alive()), thread]


def finish_background_work(timeout: float = 60.0) -> None:
    """Wait for the background work of this process's unpacks (before the process exits)."""
    deadline = time.monotonic() + timeout
    while _background:
        _background.pop().join(max(0.0, deadline - time.monotonic()))


class _locked:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1

    def __enter__(self) -> None:
        for _ in range(5):
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                if os.stat(self._path).st_ino == os.fstat(self._fd).st_ino:
                    return
            except FileNotFoundError:
                pass
            os.close(self._fd)  # the slot was removed (_prune) while this run waited: again
        raise UvLambdaError(f"cannot lock {self._path}", "another uv-lambda keeps removing it: run again")

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)


def _unheld(lease: Path) -> bool:
    """Nobody holds this lease (a run using the tree, or the writer of a draft)."""
    try:
        fd = os.open(lease, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _read_document(slot: Path) -> tuple[Path, dict[str, Any]] | None:
    """The current generation and its entries.json."""
    try:
        generation = slot / (slot / "current").read_text().strip()
        document = json.loads((generation / _ENTRIES).read_text())
    except (OSError, ValueError):
        return None
    return (generation, document) if isinstance(document, dict) else None


def _read_current(slot: Path) -> tuple[Path, Manifest, dict[str, int]] | None:
    read = _read_document(slot)
    try:
        return None if read is None else (read[0], read[1]["files"], read[1]["folders"])
    except (KeyError, TypeError):
        return None


def _draft_base(draft: Path) -> str | None:
    try:
        return (draft / "base").read_text()
    except OSError:
        return None


def _intact(generation: Path, manifest: Manifest) -> dict[str, list[int]]:
    """The files of `generation` as they were written (size and mtime unchanged), by name.

    Every file is stat'ed: a file written in place (as root can) changes nothing else. Each
    relative to its folder's descriptor (opened once per folder; the manifest lists a folder's
    files together), which spares the kernel the walk down the generation's path for each
    of thousands of files and Python the joined path."""
    root = f"{generation}/"
    intact = {}
    folders: dict[str, int] = {}
    last_folder, descriptor = None, -1
    try:
        for name, (crc, size, executable, mtime) in manifest.items():
            folder, _, file = name.rpartition("/")
            if folder != last_folder:
                last_folder = folder
                descriptor = folders.get(folder, -2)
                if descriptor == -2:
                    try:
                        descriptor = os.open(root + folder, os.O_RDONLY | os.O_DIRECTORY)
                    except OSError:
                        descriptor = -1  # gone: none of its files is intact
                    folders[folder] = descriptor
            if descriptor < 0:
                continue
            try:
                status = os.stat(file, dir_fd=descriptor)
            except OSError:
                continue
            if status.st_size == size and status.st_mtime_ns == mtime:
                intact[name] = [crc, size, executable, mtime]
    finally:
        for descriptor in folders.values():
            if descriptor >= 0:
                os.close(descriptor)
    return intact


def _folders_unchanged(generation: Path, folders: dict[str, int]) -> bool:
    """No file was added to or removed from any folder since it was written."""
    root = f"{generation}/"
    try:
        return all(os.stat(root + name).st_mtime_ns == mtime for name, mtime in folders.items())
    except OSError:
        return False


def _up_to_date(
    slot: Path, wanted: _Wanted, known: tuple[_Current, dict[str, list[int]]] | None = None
) -> tuple[Path, frozenset[str] | None]:
    """The current generation when it holds what `wanted` says, else a new one made from it;
    and what differs from the draft it was made from (see Layout.changed). `known`: the
    current generation and its intact files, read under this lock already."""
    signature = wanted.signature()
    current, intact = known if known is not None else (_read_current(slot), {})
    if current is not None:
        generation, manifest, folders = current
        if known is None:
            intact = _intact(generation, manifest)
        if (
            len(intact) == len(signature)
            and all(intact.get(name, [])[:3] == value for name, value in signature.items())
            and set(folders) == wanted.folders
            and _folders_unchanged(generation, folders)
        ):
            return generation, frozenset()
    made, changed = _make_generation(slot, wanted, signature, current, intact)
    atomic.write_text(slot / "current", made.name)
    return made, changed


def _parent(name: str) -> str:
    return name.rpartition("/")[0]


def _mtime(root: Path, folder: str) -> int:
    return os.stat(f"{root}/{folder}").st_mtime_ns


def _by_depth(folders: set[str], *, deepest_first: bool = False) -> list[str]:
    return sorted(folders, key=lambda folder: (folder.count("/"), folder), reverse=deepest_first)


def _make_generation(
    slot: Path,
    wanted: _Wanted,
    signature: dict[str, list[int]],
    current: tuple[Path, Manifest, dict[str, int]] | None,
    intact: dict[str, list[int]],
) -> tuple[Path, frozenset[str] | None]:
    """A new generation: from the draft of `current` when there is one, else linked anew; and,
    made from the draft, the names that differ from it."""
    name = f"g{time.time_ns()}"
    writer = _GenerationWriter(slot / f".scratch-{name}", wanted, signature, intact)
    draft = slot / _DRAFT
    from_draft = current is not None and _draft_base(draft) == current[0].name
    # The wanted files that are not the current generation's as they are (one pass, used twice).
    differing = [m for m in wanted.files if intact.get(m, [])[:3] != signature[m]]
    if current is not None and not from_draft:
        ready = _in_place_data(current, wanted, signature, differing)
        writer.ready = ready or dict(wanted.ready)
        if ready is not None and _take_unheld(current[0], writer.scratch):
            draft, from_draft = writer.scratch, True
    changed = None
    if current is not None and from_draft:
        # What differs from the tree it was made of: files gone or not kept as they were,
        # folders added or gone.
        gone = current[1].keys() - wanted.files.keys()
        changed = frozenset(gone.union(differing, set(current[2]) ^ wanted.folders))
    try:
        if current is not None and from_draft:
            writer.start_from(draft, current)
        else:
            writer.scratch.mkdir()
        writer.place_files(f"{current[0]}/" if current is not None else "", linked=from_draft)
        writer.scratch.rename(slot / name)
    except BaseException as exc:
        shutil.rmtree(writer.scratch, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _write_error(exc, writer.written) from None
        raise
    return slot / name, changed


class _GenerationWriter:
    """Writes one generation into `scratch`: from a tree of links to the current one (a draft,
    or the current generation itself), or from an empty folder."""

    def __init__(
        self, scratch: Path, wanted: _Wanted, signature: dict[str, list[int]], intact: dict[str, list[int]]
    ) -> None:
        self.scratch = scratch
        self.member = ""  # the name being written, for an error message (see `written`)
        self.ready: dict[str, bytes] = dict(wanted.ready)  # the changed files' data, read before the tree is touched
        self._wanted = wanted
        self._signature = signature
        self._intact = intact
        self._present: set[str] = set()  # files the starting tree holds
        self._kept_stamps: dict[str, int] = {}  # the starting tree's folders that nothing below changes
        self._touched: set[str] = set()  # folders whose entries change

    @property
    def written(self) -> Path:
        return self.scratch / self.member if self.member else self.scratch

    def start_from(self, tree: Path, current: tuple[Path, Manifest, dict[str, int]]) -> None:
        """Take `tree` (links to all of `current`'s files) and remove what is no longer wanted."""
        _, manifest, folders = current
        scratch = self.scratch
        if tree == scratch:  # the current generation itself (_take_unheld)
            (scratch / _ENTRIES).unlink()
            self._kept_stamps = dict(folders)
        else:
            tree.rename(scratch)
            (scratch / "base").unlink()
            self._kept_stamps = json.loads((scratch / _STAMPS).read_text())
            (scratch / _STAMPS).unlink()
        self._present = set(manifest)
        for member in self._present - self._wanted.files.keys():
            _unlink_if_there(f"{scratch}/{member}")
            self._touched.add(_parent(member))
        for folder in _by_depth(set(folders) - self._wanted.folders, deepest_first=True):
            shutil.rmtree(scratch / folder, ignore_errors=True)
            self._touched.add(_parent(folder))

    def place_files(self, source: str, *, linked: bool) -> None:
        """Every wanted file: kept (`linked`: the starting tree has it), linked from `source`
        (the current generation's folder), or unpacked; then the generation's entries."""
        scratch = self.scratch
        for folder in _by_depth(self._wanted.folders - set(self._kept_stamps)):
            os.makedirs(f"{scratch}/{folder}", exist_ok=True)
            self._touched.update([folder, _parent(folder)])
        files: Manifest = {}
        for member in self._wanted.files:
            self.member = member
            previous = self._intact.get(member)
            unchanged = previous is not None and previous[:3] == self._signature[member]
            if previous is not None and unchanged and (linked or _linked(source + member, f"{scratch}/{member}")):
                files[member] = previous  # the same file as the current generation's
            else:
                files[member] = self._unpack(member)
        # A folder's mtime is taken once nothing more is added to it (see _folders_unchanged).
        kept, touched = self._kept_stamps, self._touched
        stamps = {
            folder: kept[folder] if folder in kept and folder not in touched else _mtime(scratch, folder)
            for folder in self._wanted.folders
        }
        document = {"files": files, "folders": stamps, "archives": self._wanted.archives}
        (scratch / _ENTRIES).write_text(json.dumps(document))

    def _unpack(self, member: str) -> list[int]:
        target = f"{self.scratch}/{member}"
        if member in self._present:
            _unlink_if_there(target)  # a link to the previous copy (or that copy): never written to
        self._touched.add(_parent(member))
        data = self.ready[member] if member in self.ready else _read(*self._wanted.source(member))
        signature = self._signature[member]
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o555 if signature[2] else 0o444)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        return [*signature, os.stat(target).st_mtime_ns]


def _linked(source: str, target: str) -> bool:
    try:
        os.link(source, target)
        return True
    except OSError:
        return False  # another file system, or a link limit: unpack it instead


def _read(bundle: zipfile.ZipFile, entry: Entry, archive: Path, what: str) -> bytes:
    try:
        return bundle.read(entry.info)  # checks the CRC
    except zipfile.BadZipFile as exc:
        crc = str(exc).startswith("Bad CRC-32")
        raise _not_a_zip(what, archive, f"bad CRC for {entry.info.filename}" if crc else exc) from None
    except _UNREADABLE as exc:
        raise _not_a_zip(what, archive, exc) from None


def _unlink_if_there(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):  # removed from the tree by hand: nothing to replace
        os.unlink(path)


IN_PLACE_BYTES = 64 * 1024 * 1024  # changed files read into memory before a tree is updated in place


def _in_place_data(
    current: tuple[Path, Manifest, dict[str, int]],
    wanted: _Wanted,
    signature: dict[str, list[int]],
    changed: list[str],
) -> dict[str, bytes] | None:
    """The data of the `changed` files when `current` may be updated in place: its folders
    hold only what it wrote and the changed files are small; read now, so that a bad archive
    (a CRC that does not fit) is refused before the current tree is touched."""
    generation, _, folders = current
    if sum(signature[m][1] for m in changed) > IN_PLACE_BYTES or not _folders_unchanged(generation, folders):
        return None
    ready = dict(wanted.ready)
    for member in changed:
        if member not in ready:
            ready[member] = _read(*wanted.source(member))
    return ready


def _take_unheld(generation: Path, scratch: Path) -> bool:
    """Rename `generation` to `scratch` when no run holds its lease (under the slot's lock, where
    every lease is taken: no run can take one meanwhile)."""
    if not _unheld(generation / "lease"):
        return False
    try:
        generation.rename(scratch)
        return True
    except OSError:
        return False


def _write_error(exc: OSError, written: Path) -> UvLambdaError:
    where = cache_folder()
    if exc.errno == errno.ENOSPC:
        return UvLambdaError(
            f"no space left on device writing {written} (unpacking the function for a local run)",
            f"free space in {where}, or point UV_LAMBDA_CACHE_DIR at a larger file system",
        )
    return UvLambdaError(
        f"cannot unpack the function for a local run: {exc.strerror} ({written})",
        f"check the space and permissions of {where} (UV_LAMBDA_CACHE_DIR)",
    )


def _retire(slot: Path, keep: Path) -> None:
    """Move aside (to be removed off the lock) every tree but `keep` and its draft that nobody
    holds: older generations, a draft of another generation, what a crashed run left."""
    for path in slot.iterdir():
        if path == keep or not path.is_dir() or path.name.startswith(".trash-"):
            continue
        if path.name == _DRAFT:
            if _draft_base(path) == keep.name:
                continue
        elif not _unheld(path / "lease"):
            continue  # a generation in use, or a draft being linked
        path.rename(slot / f".trash-{time.time_ns()}-{path.name}")


def _tidy(slot: Path, base: Path | None) -> None:
    """Off the lock: remove the retired trees, then link the draft of `base` (when given), then
    the slots of artifacts not run for a while."""
    for path in slot.iterdir():
        if path.name.startswith(".trash-"):
            shutil.rmtree(path, ignore_errors=True)
    if base is not None:
        _link_draft(slot, base)
    _prune(keep=slot)


UNUSED_SECONDS = 14 * 24 * 3600  # a slot not run for two weeks is removed


def _prune(keep: Path) -> None:
    """Remove the slots nobody ran for UNUSED_SECONDS (an artifact deleted, a project moved)."""
    now = time.time()
    for slot in cache_folder().iterdir():
        if slot == keep or not slot.is_dir():
            continue
        try:
            if now - os.stat(slot / "lock").st_mtime < UNUSED_SECONDS:
                continue
            fd = os.open(slot / "lock", os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if all(_unheld(tree / "lease") for tree in slot.iterdir() if tree.is_dir()):
                shutil.rmtree(slot, ignore_errors=True)
        except OSError:
            pass  # in use
        finally:
            os.close(fd)


def _link_draft(slot: Path, base: Path) -> None:
    """The next generation, prepared while nobody waits for it: hard links to all of `base`."""
    try:
        document = json.loads((base / _ENTRIES).read_text())
    except (OSError, ValueError):
        return
    scratch = slot / f".scratch-draft-{time.time_ns()}"
    scratch.mkdir()
    held = os.open(scratch / "lease", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # a run that retires trees leaves this one alone
        folders = _by_depth(set(document["folders"]))
        for folder in folders:
            os.mkdir(f"{scratch}/{folder}")  # parents first
        for member in document["files"]:
            os.link(f"{base}/{member}", f"{scratch}/{member}")
        stamps = {folder: _mtime(scratch, folder) for folder in folders}
        (scratch / _STAMPS).write_text(json.dumps(stamps))
        (scratch / "base").write_text(base.name)
        with _locked(slot / "lock"):
            current = (slot / "current").read_text().strip()
            if current == base.name and not (slot / _DRAFT).exists():
                scratch.rename(slot / _DRAFT)
                return
    except OSError:
        pass
    finally:
        os.close(held)
    shutil.rmtree(scratch, ignore_errors=True)
