"""Infrastructure-as-code tools from PyPI (aws-sam-cli, aws-cdk-lib), each installed by uv
into a folder of its own, outside the project's test environment.

aws-sam-cli pins boto3 (hence botocore) and click to exact versions, which the awscli of the
test extra pins differently; aws-cdk-lib brings typeguard 2 and jsii; each takes 200-250 MB.
With uv each installs in 10-15 s. The folder is kept across runs under
UV_LAMBDA_TEST_TOOLS (default ~/.cache/uv-lambda-test-tools), keyed by what was installed;
a tool that cannot be installed (no network, no wheel) skips its tests with the reason.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.projects import uv_bin


def tools_root() -> Path:
    configured = os.environ.get("UV_LAMBDA_TEST_TOOLS")
    return Path(configured) if configured else Path.home() / ".cache" / "uv-lambda-test-tools"


def _install(kind: str, folder: Path, requirements: list[str]) -> str | None:
    """Install into `folder` (a venv, or a --target folder); None, or why it failed."""
    uv = uv_bin()
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    environment.pop("VIRTUAL_ENV", None)
    if kind == "venv":
        commands = [
            [uv, "venv", "--quiet", "--python", sys.executable, str(folder)],
            [uv, "pip", "install", "--quiet", "--python", str(folder / "bin" / "python"), *requirements],
        ]
    else:
        commands = [
            [uv, "pip", "install", "--quiet", "--target", str(folder), "--python", sys.executable, *requirements]
        ]
    for command in commands:
        completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=900, check=False)
        if completed.returncode != 0:
            lines = completed.stderr.strip().splitlines()
            return lines[-1] if lines else f"exit {completed.returncode}"
    return None


def installed(name: str, requirements: list[str], *, kind: str = "venv") -> Path:
    """The folder holding `requirements` (installed on first use); skips the test if that fails.

    kind "venv": a virtual environment running this interpreter; "target": a folder of
    packages for PYTHONPATH, to be imported by this interpreter next to uv-lambda itself.
    """
    key = hashlib.sha256(repr((kind, requirements, sys.version)).encode()).hexdigest()[:12]
    folder = tools_root() / f"{name}-{key}"
    marker = folder / ".complete"  # written last: a folder without it is an interrupted install
    if marker.is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Another test run on this machine may be installing the same folder: one at a time.
    with open(folder.with_name(folder.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file():
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        failure = _install(kind, folder, requirements)
        if failure is not None:
            shutil.rmtree(folder, ignore_errors=True)
            pytest.skip(f"{' '.join(requirements)} could not be installed from PyPI: {failure}")
        marker.write_text("\n".join(requirements) + "\n")
    return folder
