"""The test tree keeps the layout tests/README.md describes."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Checks of the whole repository; every other test sits in the folder of what it tests.
TOP_LEVEL = {"test_docs.py", "test_layout.py", "test_style.py"}


def _modules() -> list[Path]:
    return [path for path in TESTS.rglob("*.py") if "projects" not in path.relative_to(TESTS).parts]


def test_module_names_are_unique() -> None:
    # Folders have no __init__.py: pytest and the helpers' importers see each module by its
    # basename, so a second module of one name would shadow the first.
    names = Counter(path.name for path in _modules() if path.name not in ("conftest.py", "__init__.py"))
    assert [name for name, count in names.items() if count > 1] == []


def test_no_module_imports_a_conftest() -> None:
    # Which conftest `import conftest` finds depends on the order folders were collected in;
    # tests/conftest.py only declares the plugin (tests/fixtures.py, helpers in tests/support/).
    importers = [
        str(path)
        for path in _modules()
        if re.search(r"^\s*(from|import) ([\w.]+\.)?conftest\b", path.read_text(), re.M)
    ]
    assert importers == []


def test_only_repository_checks_at_the_top() -> None:
    assert {path.name for path in TESTS.glob("test_*.py")} == TOP_LEVEL


def test_interpreters_are_found_in_one_place() -> None:
    # Only the search of tests/support/interpreters.py knows where interpreter managers keep them.
    allowed = {TESTS / "support" / "interpreters.py", TESTS / "fixtures.py"}
    naming = [str(path) for path in _modules() if re.search(r"pyen[v]", path.read_text(), re.I) and path not in allowed]
    assert naming == []
