"""`uv-lambda build --format image` from the command line, against the real local registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.registry import PASSWORD, USERNAME, BaseImages, Registry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi-hello"

pytestmark = pytest.mark.slow


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UV_LAMBDA_REGISTRY_USERNAME": USERNAME, "UV_LAMBDA_REGISTRY_PASSWORD": PASSWORD}
    return subprocess.run(
        [sys.executable, "-m", "uv_lambda", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_build_format_image_pushes_and_prints_json(tmp_path: Path, registry: Registry, base_images: BaseImages) -> None:
    project = tmp_path / "fastapi-hello"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist"))
    target = f"{registry.host}/cli/fastapi-hello:v1"
    args = ["build", "--format", "image", "--push", target, "--base-image", base_images.multi_arch, "--json"]
    first = _cli(*args, cwd=project)
    assert first.returncode == 0, first.stderr
    (document,) = json.loads(first.stdout)["artifacts"]
    assert document["format"] == "image" and document["pushed"].startswith(f"{registry.host}/cli/fastapi-hello@sha256:")
    config = registry.inspect(target, config=True)
    assert config["config"]["Cmd"] == ["app.main.handler"] and config["config"]["WorkingDir"] == "/var/task"
    again = _cli(*args, cwd=project)
    assert json.loads(again.stdout)["artifacts"][0]["digest"] == document["digest"]


def test_image_options_need_format_image(tmp_path: Path) -> None:
    project = tmp_path / "fastapi-hello"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist"))
    result = _cli("build", "--push", "127.0.0.1:1/x:y", cwd=project)
    assert result.returncode == 2 and "apply to --format image" in result.stderr
