"""Where `uv-lambda build` delivers its metadata document: stdout (`--json`, `--metadata -`)
and/or a file (`--metadata FILE`).

Imported by the app-only rebuild too (cli/_rebuild.py), so it uses only os and json.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from uv_lambda import atomic
from uv_lambda.errors import UsageError
from uv_lambda.ui import result

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from typing import Any

STDOUT = "-"


def option_value(argv: Sequence[str], name: str) -> str | None:
    """The value of `name VALUE` or `name=VALUE` in a raw command line (the last one wins)."""
    value = None
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1 :]
    return value


def deliver(documents: list[dict[str, Any]], *, to_stdout: bool, metadata: str | None) -> None:
    """Print and/or write `{"artifacts": documents}`, the document `build --json` prints."""
    text = json.dumps({"artifacts": documents}, indent=2, sort_keys=True) + "\n"
    if to_stdout or metadata == STDOUT:
        result(text)
    if metadata and metadata != STDOUT:
        write_if_changed(metadata, text)


def check_target(path: str) -> None:
    """Fail before any work when `--metadata FILE` could not be written afterwards."""
    if path == STDOUT:
        return
    if os.path.isdir(path):
        raise UsageError(f"--metadata {path} is a folder", "name a file, e.g. --metadata build/artifacts.json")
    existing = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot write the metadata to {path}: {existing} is not a writable folder", "choose another file"
        )


def write_if_changed(path: str, text: str) -> None:
    """Write `text` to `path` through a temporary name; an identical file is left alone, so
    tools that compare modification times (make, a second `terraform plan`) see no change."""
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return
    except (OSError, UnicodeDecodeError):
        pass  # absent, or not a readable text file: the write below says what is wrong
    try:
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        atomic.write_text(path, text)
    except OSError as exc:
        raise UsageError(
            f"cannot write the metadata to {path}: {exc.strerror}", "choose another file with --metadata FILE"
        ) from None
