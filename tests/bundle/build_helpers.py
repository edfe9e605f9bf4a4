"""Helpers for tests that open built artifacts and look at their entries and bytes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

# A one-function project with one small registry dependency: what most build tests need.
ORDERS_PYPROJECT = """\
[project]
name = "orders"
version = "0.1.0"
requires-python = ">=3.13"
dependencies = ["six==1.17.0"]
"""


def names(archive: Path) -> list[str]:
    with zipfile.ZipFile(archive) as handle:
        return handle.namelist()


def metadata(archive: Path) -> dict[str, Any]:
    return json.loads(archive.with_name(archive.name + ".json").read_text())  # type: ignore[no-any-return]


def read(archive: Path, name: str) -> bytes:
    with zipfile.ZipFile(archive) as handle:
        return handle.read(name)


def artifact(project: Path, file: str = "function.zip", function: str | None = None) -> Path:
    folder = project / "dist" / "lambda"
    if function is None:
        (only,) = list(folder.iterdir())
        return only / file
    return folder / function / file
