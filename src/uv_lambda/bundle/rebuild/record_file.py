"""The build record (BuildRecord: its one reader, `read`, and one writer, `write`) and the
first steps of an app-only rebuild: find its record, choose the application files again,
see what changed, start the compiler.

They run before the rest of uv-lambda is imported (bundle/rebuild/incremental.py does the rest), so
this module and bundle/stage/sources.py use only os, stat, json and hashlib: the target
interpreter's start-up is the longest step of such a rebuild, and it then overlaps the
other imports.
"""

from __future__ import annotations

import _thread
import hashlib
import json
import os
from collections.abc import Sequence

from uv_lambda import __version__, sealed
from uv_lambda.bundle import bytecode
from uv_lambda.bundle.stage import sources
from uv_lambda.cache import cache_dir, debug
from uv_lambda.metadata_file import file_sha256

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

RECORD_VERSION = 7  # 7: its base holds no RECORD line for bin/ (6: large files deflated in pieces)


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps([__version__, *parts]).encode()).hexdigest()[:32]


def environment_digest() -> str:
    """What of the environment decides which uv and interpreter a build finds."""
    settings = sorted((k, v) for k, v in os.environ.items() if k.startswith(("UV_", "VIRTUAL_ENV")) or k == "PATH")
    return _key(settings)


def location(out_dir: str | os.PathLike[str]) -> str:
    """The record of the artifacts in `out_dir`: one per folder, whichever command wrote them
    (build, invoke, serve, deploy), so that each can follow the other with an app-only rebuild."""
    return os.path.join(cache_dir(), "rebuild", _key(os.path.realpath(out_dir)) + ".json")


def command_location(argv: Sequence[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """Where `uv-lambda <argv>` run in `cwd` notes which record it builds into (see `find`)."""
    folder = os.path.realpath(cwd if cwd is not None else os.getcwd())
    return os.path.join(cache_dir(), "rebuild", "commands", _key(folder, list(argv), environment_digest()) + ".json")


def local_archive(record: str) -> str:
    """The application's compressed entries, beside the record."""
    return record.removesuffix(".json") + ".zip"


def stat_of(path: str | os.PathLike[str]) -> list[int] | None:
    """[size, mtime_ns] of a file, None when it is missing: how the record knows a file is
    still the one it saw (tools, artifacts, their metadata)."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return [status.st_size, status.st_mtime_ns]


# The build record's parts: plain classes with __slots__, since they are read before the
# compiler starts (see bundle/rebuild/__init__.py). Each has one reader (from_json) and one
# writer (to_json); BuildRecord.from_json raises KeyError, TypeError or ValueError on a
# document that is not a record, and read() turns that into None (a full build).


class RecordedFile:
    """An application file as it was built."""

    __slots__ = ("mode", "name", "path", "sha256", "stamp")

    def __init__(self, name: str, path: str, sha256: str | None, mode: int, stamp: list[int] | None) -> None:
        self.name = name  # archive name, e.g. app/main.py
        self.path = path  # where it is in the project
        self.sha256 = sha256  # of the bytes that were built (the staged copy), not of the file now
        self.mode = mode  # the mode it was archived with
        # size, mtime, ctime and inode, taken before its bytes were read; None when it changed
        # too recently to trust (see incremental.py), so that it is hashed next time
        self.stamp = stamp

    @classmethod
    def from_json(cls, item: list[Any]) -> RecordedFile:
        name, path, sha256, mode, stamp = item
        return cls(str(name), str(path), sha256, int(mode), stamp)

    def to_json(self) -> list[Any]:
        return [self.name, self.path, self.sha256, self.mode, self.stamp]


class RecordedArtifact:
    """An artifact the build wrote, and what it was spliced from."""

    __slots__ = ("base", "holds_local", "metadata_stat", "path", "stat")

    def __init__(
        self, path: str, base: str | None, holds_local: bool, stat: list[int] | None, metadata_stat: list[int] | None
    ) -> None:
        self.path = path
        self.base = base  # the cached dependency archive it starts with, if any
        self.holds_local = holds_local  # whether it holds the application files
        # Its and its metadata's size and mtime (stat_of): either changed by hand means a full build.
        self.stat = stat
        self.metadata_stat = metadata_stat

    @classmethod
    def from_json(cls, item: list[Any]) -> RecordedArtifact:
        path, base, holds_local, stat, metadata_stat = item
        return cls(str(path), base, bool(holds_local), stat, metadata_stat)

    def to_json(self) -> list[Any]:
        return [self.path, self.base, self.holds_local, self.stat, self.metadata_stat]


class Facts:
    """What the checks of an app-only rebuild need to know about the rest of the function."""

    __slots__ = ("base_warnings", "installed_size", "installed_tops", "packages")

    def __init__(
        self,
        base_warnings: Sequence[str],
        installed_tops: Sequence[str],
        installed_size: int,
        packages: Sequence[tuple[str, int]],
    ) -> None:
        self.base_warnings = list(base_warnings)  # the build's warnings not about application files
        self.installed_tops = list(installed_tops)  # top-level names the dependencies install (collisions)
        self.installed_size = installed_size  # unzipped bytes of the dependencies
        self.packages = [(name, size) for name, size in packages]  # for an over-size error

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Facts:
        packages = [(str(name), int(size)) for name, size in document["packages"]]
        return cls(document["base_warnings"], document["installed_tops"], int(document["installed_size"]), packages)

    def to_json(self) -> dict[str, Any]:
        return {
            "base_warnings": self.base_warnings,
            "installed_tops": self.installed_tops,
            "installed_size": self.installed_size,
            "packages": [list(package) for package in self.packages],
        }


class OwnerRecord:
    """The record of a build no app-only rebuild can follow (workspace packages): only which
    settings built the folder, so that a local run knows whether it holds what it would build."""

    __slots__ = ("overrides",)

    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = overrides

    def to_json(self) -> dict[str, Any]:
        return {"version": RECORD_VERSION, "overrides": self.overrides, "files": None}


class BuildRecord:
    """What an app-only rebuild needs to know about the build of one artifact folder
    (incremental.py says what each part is for)."""

    __slots__ = (
        "architecture",
        "artifacts",
        "bases",
        "environment",
        "facts",
        "files",
        "handler",
        "handler_discovered",
        "inputs",
        "interpreter",
        "local_in",
        "local_sha256",
        "overrides",
        "python_version",
        "root",
        "rules",
        "runtime",
        "selection_warnings",
        "tools",
    )

    # Many arguments (PLR0913) on purpose: one keyword per part of the record, as a dataclass's __init__ has.
    def __init__(  # noqa: PLR0913
        self,
        *,
        overrides: dict[str, Any],
        environment: str,
        inputs: dict[str, str | None],
        tools: dict[str, list[int] | None],
        root: str,
        rules: sources.Rules,
        files: list[RecordedFile],
        selection_warnings: list[str],
        facts: Facts,
        interpreter: str | None,
        python_version: str,
        runtime: str,
        architecture: str,
        handler: str | None,
        handler_discovered: bool,
        artifacts: list[RecordedArtifact],
        bases: dict[str, str],
        local_sha256: str,
        local_in: list[Any] | None = None,
    ) -> None:
        self.overrides = overrides  # the command-line settings it was built with
        self.environment = environment  # environment_digest()
        self.inputs = inputs  # configuration files: sha256, None when absent
        self.tools = tools  # uv and the interpreter: stat_of
        self.root = root  # the folder application files are chosen from
        self.rules = rules  # what chose them
        self.files = files
        self.selection_warnings = selection_warnings  # what the selection left out
        self.facts = facts
        self.interpreter = interpreter  # for bytecode; None with --no-bytecode
        self.python_version = python_version
        self.runtime = runtime
        self.architecture = architecture
        self.handler = handler
        self.handler_discovered = handler_discovered  # not configured: found in the project's files
        self.artifacts = artifacts
        self.bases = bases  # the sha256 of each base archive, checked when it is copied again
        self.local_sha256 = local_sha256  # of the application's compressed entries (local_archive)
        # [artifact, n]: the application's entries are that artifact's after its first n central
        # records (an app-only rebuild wrote it), and local_sha256 is the artifact's; None: they
        # are local_archive's.
        self.local_in = local_in

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> BuildRecord:
        return cls(
            overrides=dict(document["overrides"]),
            environment=document["environment"],
            inputs=dict(document["inputs"]),
            tools=dict(document["tools"]),
            root=str(document["root"]),
            rules=sources.Rules.from_json(document["rules"]),
            files=[RecordedFile.from_json(item) for item in document["files"]],
            selection_warnings=list(document["selection_warnings"]),
            facts=Facts.from_json(document["facts"]),
            interpreter=document["interpreter"],
            python_version=str(document["python_version"]),
            runtime=str(document["runtime"]),
            architecture=str(document["architecture"]),
            handler=document["handler"],
            handler_discovered=bool(document["handler_discovered"]),
            artifacts=[RecordedArtifact.from_json(item) for item in document["artifacts"]],
            bases=dict(document["bases"]),
            local_sha256=str(document["local_sha256"]),
            local_in=_local_in(document.get("local_in")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "overrides": self.overrides,
            "environment": self.environment,
            "inputs": self.inputs,
            "tools": self.tools,
            "root": self.root,
            "rules": self.rules.as_json(),
            "files": [item.to_json() for item in self.files],
            "selection_warnings": self.selection_warnings,
            "facts": self.facts.to_json(),
            "interpreter": self.interpreter,
            "python_version": self.python_version,
            "runtime": self.runtime,
            "architecture": self.architecture,
            "handler": self.handler,
            "handler_discovered": self.handler_discovered,
            "artifacts": [item.to_json() for item in self.artifacts],
            "bases": self.bases,
            "local_sha256": self.local_sha256,
            "local_in": self.local_in,
        }


def _local_in(value: Any) -> list[Any] | None:
    """BuildRecord.local_in as read: None, or [artifact, central records, offset]."""
    if value is None:
        return None
    path, skip, start = value
    if not isinstance(path, str) or not isinstance(skip, int) or not isinstance(start, int):
        raise ValueError("local_in")
    return [path, skip, start]


# The record a caller only looked at (read(..., peek=True)), with the file's stat when it was
# read: a local run reads its folder's record three times before it rebuilds (whether the
# folder holds its settings, which settings built it, then the record itself), and parsing
# the record of thousands of files is most of what reading it costs. The next read of the
# same file, unchanged (same inode, size, mtime and ctime), takes it.
_peeked: list[tuple[str, tuple[int, ...], BuildRecord | OwnerRecord | None]] = []


def _stat_key(path: str) -> tuple[int, ...] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


# Record writes an app-only rebuild put off (`put_off`): a one-shot local run writes its record
# while its function starts rather than before (app/local.py). A record is the next build's,
# not this one's: until it is written, the one on disk names the artifact as it was before,
# which a build takes for an artifact changed by hand (the full pipeline), never for this one.
# Every read of a record does the writes put off first.
_put_off: list[Callable[[], None]] = []
_writing = _thread.allocate_lock()  # (threading itself is one import more for a rebuild)


def put_off(write_it: Callable[[], None]) -> None:
    """Leave a record write for `write_put_off`."""
    _put_off.append(write_it)


def any_put_off() -> bool:
    return bool(_put_off)


def write_put_off() -> None:
    """Do the record writes put off, in order (an error is the first write's; the rest stay
    put off). From any thread: a read waits for a write under way."""
    with _writing:
        while _put_off:
            _put_off.pop(0)()


def read(record: str | os.PathLike[str], *, peek: bool = False) -> BuildRecord | OwnerRecord | None:
    """The record at `record`, if this version wrote it and it is intact (sealed.py).

    `peek`: the caller only looks at it (its settings), so the next read of the unchanged file
    takes this one rather than reading and parsing it again; a record is handed out to one
    caller that keeps it (the rebuild changes it as it goes)."""
    write_put_off()
    path = os.fspath(record)
    key = _stat_key(path)
    if key is not None and _peeked and _peeked[0][:2] == (path, key):
        content = _peeked[0][2]
        if not peek:
            _peeked.clear()
        return content
    _peeked.clear()
    content = _read(path)
    if peek and key is not None:
        _peeked.append((path, key, content))
    return content


def _read(record: str) -> BuildRecord | OwnerRecord | None:
    document = sealed.read(record)
    try:
        if isinstance(document, dict) and document.get("version") == RECORD_VERSION:
            if document["files"] is None:
                return OwnerRecord(dict(document["overrides"]))
            return BuildRecord.from_json(document)
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    if os.path.exists(record):
        debug("build record %s is damaged or from another version: a full build replaces it", record)
    return None


def write(record: str | os.PathLike[str], content: BuildRecord | OwnerRecord) -> None:
    """Replace the record (sealed.py; atomically)."""
    os.makedirs(os.path.dirname(os.fspath(record)), exist_ok=True)
    _peeked.clear()
    sealed.write(record, content.to_json())


class Pointer:
    """What a command line built before: its record, and what that record must still say."""

    __slots__ = ("inputs", "never_inputs", "overrides", "record")

    def __init__(self, record: str, overrides: dict[str, Any], inputs: dict[str, Any], never_inputs: list[str]) -> None:
        self.record = record
        # The command line's settings, as the record states them, under these configuration
        # files: with other files the same flags may mean other settings.
        self.overrides = overrides
        self.inputs = inputs
        self.never_inputs = never_inputs  # the folders the command line writes to


def find(argv: Sequence[str]) -> Pointer | None:
    """The record `uv-lambda <argv>` built into last, when it wrote one."""
    document = sealed.read_dict(command_location(argv), "record", "overrides", "inputs", "never_inputs")
    if document is None or not isinstance(document["record"], str):
        return None  # none, or damaged (sealed.py): the full build writes a new one
    return Pointer(document["record"], document["overrides"], document["inputs"], document["never_inputs"])


def remember(
    argv: Sequence[str], record: str, overrides: dict[str, Any], inputs: dict[str, Any], never_inputs: list[str]
) -> None:
    """Note that `uv-lambda <argv>` (here) builds what `record` describes, writing into the
    folders `never_inputs` (see `find`)."""
    path = command_location(argv)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sealed.write(path, {"record": record, "overrides": overrides, "inputs": inputs, "never_inputs": never_inputs})


class Started:
    """A record whose application files were chosen again and hashed, and the compiler
    started for the files that are new or edited."""

    __slots__ = ("build", "changed", "compiler", "record", "removed", "selection")

    def __init__(
        self,
        record: str,
        build: BuildRecord,
        selection: sources.Selection,
        changed: dict[str, str],
        removed: list[str],
        compiler: bytecode.Compiler | None,
    ) -> None:
        self.record = record  # where the record is
        self.build = build  # what it says
        self.selection = selection  # the application files now, chosen as a full build chooses
        self.changed = changed  # archive name -> file in the project: new, edited or chmod-ed since
        self.removed = removed  # archive names of files no longer chosen
        self.compiler = compiler


def _edited(then: RecordedFile | None, chosen: sources.Chosen) -> bool:
    """Whether a chosen file differs from the one recorded.

    Its bytes are read only when its stamp says it was touched since, or was too recent to tell.
    """
    if then is None or then.path != chosen.path or then.mode != chosen.mode:
        return True
    return then.stamp != chosen.stamp and file_sha256(chosen.path) != then.sha256


def start(record: str, pointer: Pointer | None = None, never_inputs: Sequence[str] | None = None) -> Started | None:
    """Choose the application files again, check them, and start compiling what changed;
    None when a full build is needed.

    With `pointer`, the record must have been written with the pointer's settings. The files
    are chosen and checked by the code a full build uses (bundle/stage/sources.py), so a file
    swapped for a link out of the project, or grown past Lambda's limit, fails or is left
    out here exactly as there. `never_inputs` (or the pointer's) are the folders this build
    writes to and replace the recorded ones: the record is shared with commands that write
    elsewhere (a tree's --out), and an output folder is never an input. The rest of the
    record is checked later (incremental.py); a stale one cancels the compiler.
    """
    build = read(record)
    if not isinstance(build, BuildRecord) or (build.local_in is None and not os.path.isfile(local_archive(record))):
        return None  # no record, or one that only says who built the folder (no app-only rebuild)
    if build.environment != environment_digest():
        return None
    if pointer is not None and (build.overrides, build.inputs) != (pointer.overrides, pointer.inputs):
        return None
    outputs = pointer.never_inputs if pointer is not None else never_inputs
    if outputs is not None:
        build.rules.never_inputs = [os.path.realpath(folder) for folder in outputs]  # kept when rewritten
    selection = sources.select_application_files(build.rules)
    sources.check_selection(
        selection,
        installed_size=build.facts.installed_size,
        packages=build.facts.packages,
        ships_application=any(artifact.holds_local for artifact in build.artifacts),
    )
    recorded = {item.name: item for item in build.files}
    changed = {chosen.name: chosen.path for chosen in selection.files if _edited(recorded.get(chosen.name), chosen)}
    current = {chosen.name for chosen in selection.files}
    removed = [name for name in recorded if name not in current]
    compiles = build.interpreter is not None and any(name.endswith(".py") for name in changed)
    compiler = bytecode.Compiler(build.interpreter) if build.interpreter and compiles else None
    return Started(record, build, selection, changed, removed, compiler)
