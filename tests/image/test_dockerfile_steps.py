"""The generated Dockerfiles' steps, carried out here with the real uv (no Docker engine runs
on this machine), give a /var/task that answers the guide's event as the guide says."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dockerfile_runner import run_dockerfile
from tests.support.projects import write_project

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


# Every key that chooses what ships, each set away from its default: a default group beside
# dev (the guide's --no-dev keeps it), an extra, a group, and a pruned package.
CHOOSING_PYPROJECT = """\
[project]
name = "choosing"
version = "0.1.0"
requires-python = ">=3.13"
dependencies = ["idna==3.10", "six==1.17.0"]

[project.optional-dependencies]
fmt = ["tomli-w==1.2.0"]

[dependency-groups]
dev = ["iniconfig==2.1.0"]
test = ["pluggy==1.6.0"]
runtime = ["attrs==25.3.0"]

[tool.uv]
default-groups = ["dev", "test"]
exclude-newer = "2025-08-01T00:00:00Z"

[tool.uv-lambda]
handler = "main.handler"
extras = ["fmt"]
groups = ["runtime"]
exclude-packages = ["six"]
"""


def _distributions(names: list[str]) -> set[str]:
    return {name.split("/")[0].split("-")[0].lower() for name in names if ".dist-info/" in name}


def test_the_dockerfile_ships_what_the_build_ships(cli: Any, tmp_path: Path) -> None:
    """The Dockerfile exports with the build's flags (exporter.chosen_args): the same packages
    end up in the image as in function.zip, whatever groups, extras and exclusions say."""
    import zipfile

    project = write_project(
        tmp_path / "choosing", CHOOSING_PYPROJECT, {"main.py": "def handler(event, context):\n    return 1\n"}
    )
    assert cli("build", project).returncode == 0
    with zipfile.ZipFile(project / "dist" / "lambda" / "choosing" / "function.zip") as built:
        shipped = _distributions(built.namelist())
    assert shipped == {"idna", "tomli_w", "attrs"}, shipped
    written = cli("dockerfile", project)
    assert written.returncode == 0, written.stderr
    uv = find_uv()
    image = run_dockerfile(
        project / "Dockerfile", project, tmp_path / "image" / "var" / "task", uv.path, uv.find_python("3.13")
    )
    in_image = {path.name for path in image.task_root.iterdir()}
    assert _distributions([f"{name}/" for name in in_image]) == shipped, sorted(in_image)
