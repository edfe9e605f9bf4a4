"""The docs show only API that exists: every import in a ```python block of docs/ resolves."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
_FROM_IMPORT = re.compile(r"^from (uv_lambda[\w.]*) import ([\w, ]+)$", re.MULTILINE)


_IMPORT_AS = re.compile(r"^import (uv_lambda[\w.]*) as (\w+)$", re.MULTILINE)


def _imports() -> list[tuple[str, str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for block in _BLOCK.findall(page.read_text()):
            for module, names in _FROM_IMPORT.findall(block):
                found += [(page.name, module, name.strip()) for name in names.split(",")]
            # `import uv_lambda.cdk as cdk`, then `cdk.function_props(...)` in any block of the page.
            for module, alias in _IMPORT_AS.findall(block):
                used = set(re.findall(rf"\b{alias}\.(\w+)", "".join(_BLOCK.findall(page.read_text()))))
                found += [(page.name, module, name) for name in sorted(used)]
    return found


def _top_level_names(module: str) -> set[str]:
    """What the module's source defines or imports at its top level, read without running it
    (uv_lambda.cdk needs the optional AWS CDK to be imported)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, f"no module {module}"
    names = set()
    for node in ast.parse(Path(spec.origin).read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).partition(".")[0] for alias in node.names}
    for location in spec.submodule_search_locations or []:
        names |= {path.stem for path in Path(location).iterdir() if path.suffix == ".py" or path.is_dir()}
    return names


@pytest.mark.parametrize(("page", "module", "name"), _imports())
def test_documented_import_exists(page: str, module: str, name: str) -> None:
    assert name in _top_level_names(module), f"docs/{page}: {module} has no {name}"


def test_docs_show_imports() -> None:
    # The check above would pass vacuously if the pattern stopped matching.
    assert any(module == "uv_lambda.image.assemble" for _, module, _ in _imports())


ROOT = DOCS.parent
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
# `src/uv_lambda/x.py`, or a module path relative to the package (`bundle/stage/sources.py`).
_SOURCE_PATH = re.compile(
    r"(?<![\w/.-])((?:src/uv_lambda/)?(?:bundle|cli|deploy|emulator|image)/[\w/]+\.py|src/uv_lambda/[\w/]+\.py)"
)
_TEST_PATH = re.compile(r"(?<![\w/.-])((?:tests|bench)/[\w/]+\.(?:py|sh))")
# A command in code spans: `uv-lambda build ...` (not the layer description `uv-lambda sha256:`).
_COMMAND = re.compile(r"`uv-lambda ([a-z][a-z-]*)\b(?!:)")


def _mentions(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    return sorted({(page.name, found) for page in PAGES for found in pattern.findall(page.read_text())})


@pytest.mark.parametrize(("page", "path"), _mentions(_SOURCE_PATH) + _mentions(_TEST_PATH))
def test_documented_path_exists(page: str, path: str) -> None:
    candidates = [ROOT / path] if path.startswith(("src/", "tests/", "bench/")) else [ROOT / "src/uv_lambda" / path]
    assert any(candidate.exists() for candidate in candidates), f"{page} names {path}, which does not exist"


def test_documented_commands_exist() -> None:
    from uv_lambda.cli import COMMANDS

    named = _mentions(_COMMAND)
    unknown = [(page, command) for page, command in named if command not in COMMANDS]
    assert not unknown, f"pages name commands that do not exist: {unknown}"
    assert len(named) > 10  # the pattern still matches


def test_readme_command_table_lists_every_command_with_its_page() -> None:
    from uv_lambda.cli import COMMANDS

    section = (ROOT / "README.md").read_text().split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `uv-lambda ")]
    listed = {re.match(r"\| `uv-lambda ([a-z]+)", row).group(1): row for row in rows}  # type: ignore[union-attr]
    assert sorted(listed) == sorted(COMMANDS)
    for command, row in listed.items():
        pages = re.findall(r"`docs/([\w-]+\.md)`|\(docs/([\w-]+\.md)\)", row.rsplit("|", 2)[-2])
        assert pages, f"README's row for {command} names no design page"
        for page in (a or b for a, b in pages):
            assert (DOCS / page).exists(), f"README's row for {command} names docs/{page}, which does not exist"


_TEST_NAME = re.compile(r"\b(test_\w+)::(test_\w+)")


@pytest.mark.parametrize(("page", "cited"), _mentions(_TEST_NAME))
def test_cited_test_exists(page: str, cited: tuple[str, str]) -> None:
    module, test = cited
    files = list((ROOT / "tests").rglob(f"{module}.py"))
    found = any(re.search(rf"def {test}\b", file.read_text()) for file in files)
    assert found, f"{page} cites {module}::{test}, which does not exist"


def _anchor(heading: str) -> str:
    """The fragment GitHub gives a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


_LINK = re.compile(r"\]\(([\w./-]*\.md)?#([\w-]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_links_to_headings_exist(page: Path) -> None:
    for target, fragment in _LINK.findall(page.read_text()):
        linked = (page.parent / target) if target else page
        headings = re.findall(r"^#+ (.*)$", linked.read_text(), re.MULTILINE)
        assert fragment in {_anchor(heading) for heading in headings}, f"{page.name} links to {target}#{fragment}"


# Modules a user's project has, which the pages name as examples.
_USER_MODULES = {"app.py", "main.py", "lambda_function.py", "typing_extensions.py"}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_named_modules_exist(page: Path) -> None:
    # A module named alone (`pool.py`) in a page's table of modules, not only a full path.
    ours = {path.name for path in (ROOT / "src" / "uv_lambda").rglob("*.py")}
    unknown = set(re.findall(r"`(\w+\.py)`", page.read_text())) - ours - _USER_MODULES
    assert not unknown, f"{page.name} names modules that do not exist: {sorted(unknown)}"
