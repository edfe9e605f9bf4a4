"""The first steps of an app-only rebuild: find its record, choose the application files
again, see what changed, start the compiler.

They run before the rest of uv-lambda is imported (bundle/rebuild/incremental.py does the rest), so
this module and bundle/stage/sources.py use only os, stat, json and hashlib: the target
interpreter's start-up is the longest step of such a rebuild, and it then overlaps the
other imports.
"""

from __future__ import annotations

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
    from typing import Any

RECORD_VERSION = 5  # 5: sealed (see sealed.py), with the digests of the archives it uses


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

    __slots__ = ("changed", "compiler", "document", "record", "removed", "selection")

    def __init__(
        self,
        record: str,
        document: dict[str, Any],
        selection: sources.Selection,
        changed: dict[str, str],
        removed: list[str],
        compiler: bytecode.Compiler | None,
    ) -> None:
        self.record = record
        self.document = document
        self.selection = selection  # the application files now, chosen as a full build chooses
        self.changed = changed  # archive name -> file in the project: new, edited or chmod-ed since
        self.removed = removed  # archive names of files no longer chosen
        self.compiler = compiler


def _edited(then: tuple[str, str, int, list[int] | None] | None, chosen: sources.Chosen) -> bool:
    """Whether a chosen file differs from the one recorded (`then`: path, sha256, mode, stamp).

    Its bytes are read only when its stamp says it was touched since, or was too recent to tell.
    """
    if then is None or then[0] != chosen.path or then[2] != chosen.mode:
        return True
    return then[3] != chosen.stamp and file_sha256(chosen.path) != then[1]


def read(record: str) -> dict[str, Any] | None:
    """The record's document, if it is one this version wrote and it is intact (sealed.py)."""
    document = sealed.read(record)
    if isinstance(document, dict) and document.get("version") == RECORD_VERSION:
        return document
    if os.path.exists(record):
        debug("build record %s is damaged or from another version: a full build replaces it", record)
    return None


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
    document = read(record)
    if document is None or document.get("files") is None or not os.path.isfile(local_archive(record)):
        return None  # no record, or one that only says who built the folder (no app-only rebuild)
    if document.get("environment") != environment_digest():
        return None
    try:
        if pointer is not None and (document["overrides"], document["inputs"]) != (pointer.overrides, pointer.inputs):
            return None
        facts = document["facts"]
        rules = sources.Rules.from_json(document["rules"])
        outputs = pointer.never_inputs if pointer is not None else never_inputs
        if outputs is not None:
            rules.never_inputs = [os.path.realpath(folder) for folder in outputs]
            document["rules"] = rules.as_json()  # what the rewritten record chose with
        installed_size = int(facts["installed_size"])
        packages = [(str(name), int(size)) for name, size in facts["packages"]]
        ships_application = any(holds_local for _, _, holds_local, *_ in document["artifacts"])
        recorded = {name: (path, digest, mode, stamp) for name, path, digest, mode, stamp in document["files"]}
        interpreter = document["interpreter"]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # not a record this version wrote: the full build writes a new one
    selection = sources.select_application_files(rules)
    sources.check_selection(
        selection, installed_size=installed_size, packages=packages, ships_application=ships_application
    )
    changed = {chosen.name: chosen.path for chosen in selection.files if _edited(recorded.get(chosen.name), chosen)}
    current = {chosen.name for chosen in selection.files}
    removed = [name for name in recorded if name not in current]
    compiles = interpreter and any(name.endswith(".py") for name in changed)
    compiler = bytecode.Compiler(interpreter) if compiles else None
    return Started(record, document, selection, changed, removed, compiler)
