"""Helpers for the attacks on local runs (`invoke`, `serve`) and image inputs: run the real
command with a private TMPDIR, and check that it failed the way the project promises."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

HANDLER = "def handler(event, context):\n    return {'ok': event}\n"
ZIP_ARGS = ("--handler", "app.handler", "--runtime", "python3.13")


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    tmp: Path  # the TMPDIR the command had: what it left there


def run(*args: str | os.PathLike[str], tmp: Path, stdin: bytes | None = None, timeout: float = 120) -> Run:
    """`uv-lambda ARGS` with TMPDIR=tmp (created), so its scratch can be inspected afterwards."""
    tmp.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [sys.executable, "-m", "uv_lambda", *map(str, args)],
        input=stdin,
        env={**os.environ, "TMPDIR": str(tmp)},
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return Run(
        completed.returncode,
        completed.stdout.decode(errors="replace"),
        completed.stderr.decode(errors="replace"),
        tmp,
    )


def assert_refused(result: Run, code: int, *needles: str, hint: str | None = None) -> None:
    """Exit `code`, one `error:` line holding each needle, a hint (holding `hint`), no traceback,
    and no scratch left behind in the command's TMPDIR."""
    stderr = result.stderr
    assert result.returncode == code, (result.returncode, stderr)
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    for needle in needles:
        assert needle in errors[0], stderr
    hints = [line for line in stderr.splitlines() if line.startswith("hint:")]
    assert len(hints) == 1, stderr
    if hint is not None:
        assert hint in hints[0], stderr
    assert_no_scratch(result.tmp)


def assert_no_scratch(tmp: Path) -> None:
    left = sorted(path.name for path in tmp.iterdir()) if tmp.exists() else []
    assert left == [], f"left behind in TMPDIR: {left}"


def write_zip(path: Path, entries: list[tuple[str, bytes | str]]) -> Path:
    """A zip with exactly these entries, in this order (names as given, duplicates kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries:
            archive.writestr(zipfile.ZipInfo(name), content)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
