"""Fixtures shared by the whole suite: a sane PATH for uv, an isolated uv-lambda cache,
copies of the bundled examples, and a runner for the real `uv-lambda` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def _interpreter_dirs() -> list[str]:
    # uv's discovery trips over pyenv shims; real interpreter folders go first on PATH.
    return [str(path) for path in sorted(PYENV_VERSIONS.glob("3.1[0-9]*/bin"), reverse=True)]


@pytest.fixture(scope="session", autouse=True)
def build_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), *_interpreter_dirs(), os.environ.get("PATH", "")]
    )
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"
    os.environ["UV_LAMBDA_CACHE_DIR"] = str(tmp_path_factory.mktemp("uv-lambda-cache"))
    os.environ.pop("VIRTUAL_ENV", None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


CliRunner = Callable[..., CliResult]


@pytest.fixture
def cli() -> CliRunner:
    """Run the real `uv-lambda` command in a subprocess."""

    def run(
        *args: str | os.PathLike[str],
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> CliResult:
        completed = subprocess.run(
            [sys.executable, "-m", "uv_lambda", *map(str, args)],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    return run


@pytest.fixture
def example(tmp_path: Path) -> Callable[[str], Path]:
    """A fresh copy of a bundled example project, without build output."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("dist", ".venv", "__pycache__"))
        return target

    return copy


def uv_bin() -> str:
    from uv_lambda.uv import find_uv

    return str(find_uv().path)


def write_project(root: Path, pyproject: str, files: dict[str, str] | None = None, *, lock: bool = True) -> Path:
    """Write a project from text and lock it with the real uv."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(pyproject)
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if lock:
        subprocess.run([uv_bin(), "lock", "--quiet"], cwd=root, check=True, capture_output=True)
    return root
