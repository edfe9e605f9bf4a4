"""The docs show only API that exists: every import in a ```python block of docs/ resolves."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
_FROM_IMPORT = re.compile(r"^from (uv_lambda[\w.]*) import ([\w, ]+)$", re.MULTILINE)


def _imports() -> list[tuple[str, str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for block in _BLOCK.findall(page.read_text()):
            for module, names in _FROM_IMPORT.findall(block):
                found += [(page.name, module, name.strip()) for name in names.split(",")]
    return found


@pytest.mark.parametrize(("page", "module", "name"), _imports())
def test_documented_import_exists(page: str, module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"docs/{page}: {module} has no {name}"


def test_docs_show_imports() -> None:
    # The check above would pass vacuously if the pattern stopped matching.
    assert any(module == "uv_lambda.image.pipeline" for _, module, _ in _imports())
