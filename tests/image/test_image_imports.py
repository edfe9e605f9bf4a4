"""The image package reads and writes images; running one is the local-run use case's
(app/local.py `open_image`), so nothing in image/ imports the local runner."""

from __future__ import annotations

import ast
from pathlib import Path

IMAGE = Path(__file__).resolve().parents[2] / "src" / "uv_lambda" / "image"


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_image_does_not_import_the_emulator_or_the_use_cases() -> None:
    reaching = {
        f"image/{path.relative_to(IMAGE)}: {module}"
        for path in IMAGE.rglob("*.py")
        for module in _imported_modules(path)
        if module.startswith(("uv_lambda.emulator", "uv_lambda.app", "uv_lambda.cli"))
    }
    assert not reaching
