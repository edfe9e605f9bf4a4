"""The first steps of an app-only rebuild: find its record, choose the application files
again, see what changed, start the compiler.

They run before the rest of uv-lambda is imported (build/incremental.py does the rest), so
this module and build/sources.py use only os, stat, json and hashlib: the target
interpreter's start-up is the longest step of such a rebuild, and it then overlaps the
other imports.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence

from uv_lambda import __version__
from uv_lambda.build import bytecode, sources
from uv_lambda.cache import cache_dir
from uv_lambda.metadata_file import file_sha256

TYPE_CHECKING = False  # mypy treats this name as True; typing itself costs start-up time
if TYPE_CHECKING:
    from typing import Any

RECORD_VERSION = 3


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


def start(record: str) -> Started | None:
    """Choose the application files again, check them, and start compiling what changed;
    None when a full build is needed.

    The files are chosen and checked by the code a full build uses (build/sources.py), so a
    file swapped for a link out of the project, or grown past Lambda's limit, fails or is
    left out here exactly as there. The rest of the record is checked later (incremental.py);
    a stale one cancels the compiler.
    """
    try:
        with open(record) as handle:
            document: dict[str, Any] = json.load(handle)
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("version") != RECORD_VERSION:
        return None
    if not os.path.isfile(local_archive(record)):
        return None
    try:
        facts = document["facts"]
        rules = sources.Rules.from_json(document["rules"])
        installed_size = int(facts["installed_size"])
        packages = [(str(name), int(size)) for name, size in facts["packages"]]
        ships_application = any(holds_local for _, _, holds_local, _ in document["artifacts"])
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
