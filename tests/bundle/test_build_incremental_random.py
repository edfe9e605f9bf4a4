"""Random sequences of edits to a project's files, each followed by an app-only rebuild and by
a full build of the same sources: the rebuild gives the same bytes and metadata as the full
build, or fails the same way (exit code and error line), keeping the previous artifact.

Edits: add a file (a module, data, a new package, a new top-level module), delete one,
modify one, chmod one, swap one for a link inside the project or out of it, grow one past
Lambda's 250 MB limit (a sparse file: cheap, and refused before it is read), break one (a
syntax error, a truncated ELF file). Seeded and bounded; with and without `strict = true`;
zip and split.
"""

from __future__ import annotations

import json
import os
import random
import stat
from pathlib import Path

import pytest
from tests.bundle.build_helpers import ORDERS_PYPROJECT as PYPROJECT
from tests.conftest import CliResult, CliRunner, write_project

from uv_lambda.bundle.rebuild import record_file

pytestmark = pytest.mark.slow

HANDLER = "import six\n\ndef handler(event, context):\n    return six.__version__\n"
STEPS = 12
WEIGHTS = {
    "add": 3,
    "delete": 2,
    "modify": 3,
    "chmod": 3,
    "link-inside": 2,
    "link-outside": 2,
    "grow": 1,
    "break": 1,  # a syntax error, or a truncated ELF file: caught by the checks of changed files
}
FULL_PIPELINE = "  application: "  # the full pipeline's summary line; an app-only rebuild has none
KEEP = {"app/main.py"}  # the handler's module: removing it is the full pipeline's to report


def _files(root: Path) -> list[Path]:
    found = []
    for folder, subfolders, names in os.walk(root / "app"):
        subfolders[:] = sorted(s for s in subfolders if s != "__pycache__")
        found += [Path(folder) / name for name in sorted(names)]
    found += sorted(root.glob("*.py"))
    return [path for path in found if path.relative_to(root).as_posix() not in KEEP]


def _regular(root: Path) -> list[Path]:
    return [path for path in _files(root) if not path.is_symlink() and path.stat().st_size < 1024 * 1024]


class Editor:
    def __init__(self, root: Path, outside: Path, rng: random.Random, strict: bool) -> None:
        self.root, self.outside, self.rng, self.strict = root, outside, rng, strict
        self.count = 0
        self.broken: Path | None = None  # a file that fails every build: repaired by the next edit

    def _new_name(self) -> Path:
        self.count += 1
        kind = self.rng.choice(["module", "data", "package", "top"])
        if kind == "module":
            return self.root / "app" / f"mod{self.count}.py"
        if kind == "data":
            return self.root / "app" / "data" / f"table{self.count}.csv"
        if kind == "package":
            package = self.root / "app" / f"pkg{self.count}"
            package.mkdir(parents=True)
            (package / "__init__.py").write_text("")
            return package / "inner.py"
        return self.root / f"tool{self.count}.py"  # the default include picks a new top-level module

    def _text(self, path: Path) -> str:
        value = self.rng.randrange(10**6)
        return f"VALUE = {value}\n" if path.suffix == ".py" else f"a,b\n{value},1\n"

    def edit(self) -> str:
        if self.broken is not None:  # so that the steps after a failure are compared too
            path, self.broken = self.broken, None
            path.unlink()
            if path.suffix != ".so":
                path.write_text(self._text(path))
            return f"repair {path.relative_to(self.root)}"
        files = _files(self.root)
        regular = _regular(self.root)
        kind = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        if kind in ("delete", "modify", "chmod", "link-outside", "grow") and not files:
            kind = "add"
        if kind == "link-inside" and not regular:
            kind = "add"
        edits = {
            "add": self._add,
            "delete": self._delete,
            "modify": self._modify,
            "chmod": self._chmod,
            "link-inside": self._link_inside,
            "link-outside": self._link_outside,
            "break": self._break,
            "grow": self._grow,
        }
        path = edits[kind](files, regular)
        return f"{kind} {path.relative_to(self.root)}"

    # One method per kind of edit: each takes the project's files (and its regular files)
    # and returns the path it edited.

    def _add(self, files: list[Path], regular: list[Path]) -> Path:
        path = self._new_name()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self._text(path))
        return path

    def _delete(self, files: list[Path], regular: list[Path]) -> Path:
        path = self.rng.choice(files)
        path.unlink()
        return path

    def _modify(self, files: list[Path], regular: list[Path]) -> Path:
        path = self.rng.choice(files)
        path.unlink()  # a link is replaced by a file, a file rewritten
        path.write_text(self._text(path))
        return path

    def _chmod(self, files: list[Path], regular: list[Path]) -> Path:
        path = self.rng.choice(regular or files)
        if path.exists():
            os.chmod(path, path.stat().st_mode ^ stat.S_IXUSR)
        return path

    def _link_inside(self, files: list[Path], regular: list[Path]) -> Path:
        target = self.rng.choice(regular)
        path = self._new_name() if self.rng.random() < 0.5 else self.rng.choice(files)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        os.symlink(os.path.relpath(target, path.parent), path)
        return path

    def _link_outside(self, files: list[Path], regular: list[Path]) -> Path:
        path = self.rng.choice(files)
        path.unlink()
        target = self.outside / f"secret{self.count}.py"
        target.write_text("PASSWORD = 'from the build machine'\n")
        os.symlink(target, path)
        self.broken = path if self.strict else None
        return path

    def _break(self, files: list[Path], regular: list[Path]) -> Path:
        path = self.rng.choice(files)
        path.unlink()
        if path.suffix == ".py":
            path.write_text("def broken(:\n")
        else:
            path = path.with_suffix(".so")
            path.unlink(missing_ok=True)
            path.write_bytes(b"\x7fELF\x02\x01\x01")
        self.broken = path
        return path

    def _grow(self, files: list[Path], regular: list[Path]) -> Path:
        path = self.rng.choice(files)
        path.unlink()
        with path.open("wb") as handle:
            handle.truncate(300 * 1024 * 1024)
        self.broken = path
        return path


def _error(result: CliResult) -> tuple[int, list[str]]:
    return result.returncode, [line for line in result.stderr.splitlines() if line.startswith(("error:", "hint:"))]


def _artifact(folder: Path) -> dict[str, tuple[bytes, object]]:
    """Every artifact in `folder` with its metadata."""
    return {
        path.name: (path.read_bytes(), json.loads(path.with_name(path.name + ".json").read_text()))
        for path in sorted(folder.glob("*.zip"))
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = {"app/__init__.py": "", "app/main.py": HANDLER, "app/util.py": "X = 1\n", "app/data/t.csv": "a\n"}
    return write_project(tmp_path_factory.mktemp("random") / "template", PYPROJECT, files)


@pytest.mark.parametrize(
    ("seed", "strict", "format"), [(1, False, "zip"), (2, False, "zip"), (3, True, "zip"), (4, False, "split")]
)
def test_random_edits(cli: CliRunner, template: Path, tmp_path: Path, seed: int, strict: bool, format: str) -> None:
    import shutil

    root = tmp_path / "orders"
    shutil.copytree(template, root)
    if strict:
        (root / "pyproject.toml").write_text(PYPROJECT + "\n[tool.uv-lambda]\nstrict = true\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    fast_out, full_out = root / "dist" / "lambda" / "orders", tmp_path / "full"
    first = cli("build", root, "--format", format)
    assert first.returncode == 0, first.stderr
    assert set(_artifact(fast_out)) == ({"function.zip"} if format == "zip" else {"app.zip", "layer.zip"})
    full_command = ["build", str(root), "--format", format, "--out", str(full_out)]
    editor = Editor(root, outside, random.Random(seed), strict)
    history = []
    for _ in range(STEPS):
        history.append(editor.edit())
        before = _artifact(fast_out)
        fast = cli("build", root, "--format", format)
        # The same sources through the full pipeline: its own folder, its record removed.
        Path(record_file.location(full_out)).unlink(missing_ok=True)
        full = cli(*full_command)
        assert FULL_PIPELINE not in fast.stderr, (history, fast.stderr)
        assert full.returncode != 0 or FULL_PIPELINE in full.stderr, (history, full.stderr)
        assert "Traceback" not in fast.stderr + full.stderr, (history, fast.stderr, full.stderr)
        if full.returncode == 0:
            assert fast.returncode == 0, (history, fast.stderr, full.stderr)
            assert _artifact(fast_out) == _artifact(full_out), history
        else:
            assert _error(fast) == _error(full), (history, fast.stderr, full.stderr)
            assert _artifact(fast_out) == before, history
            assert not [p.name for p in fast_out.iterdir() if p.name.startswith(".")]
    kinds = {step.split()[0] for step in history}
    assert len(kinds) >= 5, history  # the seeds are chosen to mix the edits
