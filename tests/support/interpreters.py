"""Finding a python3.X on this machine for tests that need one (bytecode, runtimes).

Searched in order: PATH, then the places interpreter managers put real interpreters (uv's
managed Pythons, pyenv's versions folder, /opt/python as in manylinux images) and the system
folders. Shims are passed over: a pyenv shim exists for every version and fails for most, and
uv's own discovery trips over them. A candidate counts only if it runs and reports the version.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

# The minor versions of the Lambda runtimes uv-lambda builds for.
MINORS = ("3.10", "3.11", "3.12", "3.13", "3.14")


def _managed_folders(version: str) -> list[Path]:
    home = Path.home()
    uv_pythons = Path(os.environ.get("UV_PYTHON_INSTALL_DIR", home / ".local" / "share" / "uv" / "python"))
    pyenv_versions = Path(os.environ.get("PYENV_ROOT", home / ".pyenv")) / "versions"
    folders: list[Path] = []
    for root, pattern in (
        (uv_pythons, f"cpython-{version}.*/bin"),
        (pyenv_versions, f"{version}.*/bin"),
        (Path("/opt/python"), f"cp3{version[2:]}-*/bin"),
    ):
        if root.is_dir():
            folders.extend(sorted(root.glob(pattern), reverse=True))  # the newest patch release first
    return folders


def search_folders(version: str) -> list[Path]:
    """Where python`version` is looked for, in order."""
    on_path = [Path(entry) for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    system = [Path("/usr/local/bin"), Path("/usr/bin")]
    folders = [folder for folder in [*on_path, *_managed_folders(version), *system] if folder.name != "shims"]
    return list(dict.fromkeys(folders))


def _reports(candidate: Path, version: str) -> bool:
    try:
        completed = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0 and completed.stdout.strip() == version


@functools.cache
def find_python(version: str) -> Path | None:
    """A working python`version` (e.g. "3.12"), or None when this machine has none."""
    for folder in search_folders(version):
        candidate = folder / f"python{version}"
        if candidate.is_file() and os.access(candidate, os.X_OK) and _reports(candidate, version):
            return candidate
    return None


def missing_message(version: str) -> str:
    return f"no python{version} on this machine: put a python{version} on PATH to run this test"
