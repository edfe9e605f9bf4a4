"""The real `uv-lambda` command run in a subprocess, and projects written from text and locked
with the real uv."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

# A one-function project with one small registry dependency: what most build tests need.
ORDERS_PYPROJECT = """\
[project]
name = "orders"
version = "0.1.0"
requires-python = ">=3.13"
dependencies = ["six==1.17.0"]
"""
ORDERS_HANDLER = "import six\n\ndef handler(event, context):\n    return {'six': six.__version__}\n"


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


CliRunner = Callable[..., CliResult]


def run_cli(
    *args: str | os.PathLike[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> CliResult:
    """`uv-lambda ARGS` in a subprocess, with the test's environment plus `env`."""
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
