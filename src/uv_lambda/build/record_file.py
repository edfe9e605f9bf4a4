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

from uv_lambda import __version__, sealed
from uv_lambda.build import bytecode
from uv_lambda.cache import cache_dir, debug
from uv_lambda.metadata_file import file_sha256

TYPE_CHECKING = False  # mypy treats this name as True; typing itself costs start-up time
if TYPE_CHECKING:
    from typing import Any

RECORD_VERSION = 3  # 3: sealed (see sealed.py), with the digests of the archives it uses


def location(argv: Sequence[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """Where the record of `uv-lambda <argv>` run in `cwd` lives (keyed by PATH and UV_* too)."""
    settings = sorted((k, v) for k, v in os.environ.items() if k.startswith(("UV_", "VIRTUAL_ENV")) or k == "PATH")
    folder = os.path.realpath(cwd if cwd is not None else os.getcwd())
    key = json.dumps([__version__, folder, list(argv), settings])
    return os.path.join(cache_dir(), "rebuild", hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def local_archive(record: str) -> str:
    """The application's compressed entries, beside the record."""
    return record.removesuffix(".json") + ".zip"


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


def start(record: str) -> Started | None:
    """Open the record and start compiling the edited files; None when a full build is needed.

    The record itself is checked later (incremental.py); a stale one cancels the compiler.
    """
    document = sealed.read(record)
    if not _well_formed(document):
        if os.path.exists(record):
            debug("build record %s is damaged or from another version: a full build replaces it", record)
        return None
    if not os.path.isfile(local_archive(record)):
        return None
    current = {name: (path, file_sha256(path), digest) for name, path, digest in document["files"]}
    if any(now is None for _, now, _ in current.values()):
        return None  # a file was removed: the selection changed
    changed = {name: path for name, (path, now, then) in current.items() if now != then}
    interpreter = document["interpreter"]
    compiler = bytecode.Compiler(interpreter) if changed and interpreter else None
    return Started(record, document, changed, compiler)


def _well_formed(document: Any) -> bool:
    """What start() reads has the shape a record of this version has (the seal vouches for
    the rest: a record is only ever written whole, by this version)."""
    if not isinstance(document, dict) or document.get("version") != RECORD_VERSION:
        return False
    files = document.get("files")
    if not isinstance(files, list):
        return False
    for item in files:
        if not (isinstance(item, list) and len(item) == 3 and all(isinstance(part, str) for part in item[:2])):
            return False
    return isinstance(document.get("interpreter"), (str, type(None)))
