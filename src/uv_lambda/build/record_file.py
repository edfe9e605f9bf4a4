"""The first steps of an app-only rebuild: find its record, see what changed, start the compiler.

They run before the rest of uv-lambda is imported (build/incremental.py does the rest), so
this module uses only os, json and hashlib: the target interpreter's start-up is the longest
step of such a rebuild, and it then overlaps the other imports.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence

from uv_lambda import __version__
from uv_lambda.build import bytecode
from uv_lambda.cache import cache_dir
from uv_lambda.metadata_file import file_sha256

TYPE_CHECKING = False  # mypy treats this name as True; typing itself costs start-up time
if TYPE_CHECKING:
    from typing import Any

RECORD_VERSION = 3


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

    __slots__ = ("inputs", "overrides", "record")

    def __init__(self, record: str, overrides: dict[str, Any], inputs: dict[str, Any]) -> None:
        self.record = record
        # The command line's settings, as the record states them, under these configuration
        # files: with other files the same flags may mean other settings.
        self.overrides = overrides
        self.inputs = inputs


def find(argv: Sequence[str]) -> Pointer | None:
    """The record `uv-lambda <argv>` built into last, when it wrote one."""
    try:
        with open(command_location(argv)) as handle:
            document = json.load(handle)
        return Pointer(document["record"], document["overrides"], document["inputs"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def remember(argv: Sequence[str], record: str, overrides: dict[str, Any], inputs: dict[str, Any]) -> None:
    """Note that `uv-lambda <argv>` (here) builds what `record` describes (see `find`)."""
    path = command_location(argv)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}"
    with open(temporary, "w") as handle:
        json.dump({"record": record, "overrides": overrides, "inputs": inputs}, handle, sort_keys=True)
    os.replace(temporary, path)


class Started:
    """A record whose application files were hashed, and the compiler started for the edits."""

    __slots__ = ("changed", "compiler", "document", "record")

    def __init__(
        self, record: str, document: dict[str, Any], changed: dict[str, str], compiler: bytecode.Compiler | None
    ) -> None:
        self.record = record
        self.document = document
        self.changed = changed  # archive name -> file in the project, for the files edited since
        self.compiler = compiler


def read(record: str) -> dict[str, Any] | None:
    """The record's document, if it is one this version wrote."""
    try:
        with open(record) as handle:
            document: dict[str, Any] = json.load(handle)
    except (FileNotFoundError, ValueError):
        return None
    return document if isinstance(document, dict) and document.get("version") == RECORD_VERSION else None


def start(record: str, pointer: Pointer | None = None) -> Started | None:
    """Open the record and start compiling the edited files; None when a full build is needed.

    With `pointer`, the record must have been written with the pointer's settings. The rest
    of the record is checked later (incremental.py); a stale one cancels the compiler.
    """
    document = read(record)
    if document is None or document.get("files") is None or not os.path.isfile(local_archive(record)):
        return None  # no record, or one that only says who built the folder (no app-only rebuild)
    if document.get("environment") != environment_digest():
        return None
    if pointer is not None and (document["overrides"], document["inputs"]) != (pointer.overrides, pointer.inputs):
        return None
    current = {name: (path, file_sha256(path), digest) for name, path, digest in document["files"]}
    if any(now is None for _, now, _ in current.values()):
        return None  # a file was removed: the selection changed
    changed = {name: path for name, (path, now, then) in current.items() if now != then}
    interpreter = document["interpreter"]
    compiler = bytecode.Compiler(interpreter) if changed and interpreter else None
    return Started(record, document, changed, compiler)
