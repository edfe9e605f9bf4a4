"""The generated Dockerfiles' steps, carried out here with the real uv (no Docker engine runs
on this machine), give a /var/task that answers the guide's event as the guide says."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dockerfile_runner import run_dockerfile

from uv_lambda.app.local import open_layout
from uv_lambda.config import FunctionConfig
from uv_lambda.emulator.function import RunOptions
from uv_lambda.emulator.layout import Layout
from uv_lambda.uv import find_uv

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("example_name", "body", "library"),
    [("fastapi-hello", '"Hello, world!"', False), ("workspace", '"Hello from library!"', True)],
)
def test_dockerfile_steps_build_a_working_function(
    cli: Any, example: Callable[[str], Path], tmp_path: Path, example_name: str, body: str, library: bool
) -> None:
    project = example(example_name)
    written = cli("dockerfile", project)
    assert written.returncode == 0, written.stderr
    uv = find_uv()
    root = tmp_path / "image"
    built = run_dockerfile(project / "Dockerfile", project, root / "var" / "task", uv.path, uv.find_python("3.13"))
    task = built.task_root
    assert (task / "fastapi").is_dir() and (task / "mangum").is_dir()
    assert (task / "app" / "main.py").is_file()
    assert (task / "library").is_dir() == library
    assert not (task / "uv.lock").exists() and not (task / "pyproject.toml").exists()  # mounts only
    assert list(task.glob("fastapi/__pycache__/*.cpython-313.pyc"))  # UV_COMPILE_BYTECODE=1
    (root / "opt").mkdir()
    options = RunOptions(pass_credentials=False, region="us-east-1")
    layout = Layout(root, task, root / "opt")
    config = FunctionConfig(name="api", runtime="python3.13", handler=built.handler, timeout=30)
    with open_layout(layout, config, options) as function:
        answer = function.invoke((project / "event.json").read_bytes())
    assert not answer.function_error, answer.log
    response = json.loads(answer.payload)
    assert response["statusCode"] == 200 and response["body"] == body


def test_the_guides_workspace_steps_lose_members(cli: Any, example: Callable[[str], Path], tmp_path: Path) -> None:
    """Why the generated workspace variant differs from the guide's: without the two changes,
    `library` is installed under its own bind mount (which BuildKit discards afterwards, or
    refuses, its mounts being read-only) and `greeting` is installed editable (uv #14963)."""
    project = example("workspace")
    assert cli("dockerfile", project).returncode == 0
    text = (project / "Dockerfile").read_text()
    guide_like = text.replace("WORKDIR /workspace\n", "").replace("--no-sources ", "")
    (project / "Dockerfile").write_text(guide_like)
    uv = find_uv()
    built = run_dockerfile(
        project / "Dockerfile", project, tmp_path / "image" / "var" / "task", uv.path, uv.find_python("3.13")
    )
    assert not (built.task_root / "library").exists()
    assert (built.task_root / "library-0.1.0.dist-info").is_dir()
    assert (built.task_root / "greeting.pth").is_file()  # an editable install: useless on Lambda
    assert not (built.task_root / "greeting").exists()
