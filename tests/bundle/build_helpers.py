"""Helpers for tests that open built artifacts and look at their entries and bytes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any


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
