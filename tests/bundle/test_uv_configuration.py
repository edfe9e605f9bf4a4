"""uv runs with the right configuration: the user's project with its own settings from its
folder, the tool's own runtime folder isolated from any; no dependency group ships unless
`groups` names it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.bundle.build_helpers import metadata, names
from tests.support.projects import CliRunner, write_project

from uv_lambda.emulator import runtime_folder

HOSTILE = '[project]\nname = "caller"\nversion = "0"\n\n[tool.uv]\nexclude-newer = "2019-01-01T00:00:00Z"\n'

GROUPS = """\
[project]
name = "grouped"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = ["six==1.17.0"]

[dependency-groups]
dev = ["iniconfig==2.0.0"]
test = ["pluggy==1.5.0"]
docs = ["idna==3.10"]

[tool.uv]
default-groups = ["dev", "test"]
exclude-newer = "2025-06-01T00:00:00Z"

[tool.uv-lambda]
handler = "main.handler"
"""


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("grouped") / "grouped",
        GROUPS,
        {"main.py": "import six\n\ndef handler(event, context):\n    return six.__name__\n"},
    )


def test_runtime_folder_install_is_isolated_and_copies() -> None:
    args = runtime_folder.install_args(Path("/t"), Path("/py"), with_boto3=False)
    assert "--no-config" in args
    assert args[args.index("--link-mode") + 1] == "copy"
    assert args[args.index("--python") + 1] == "/py"


@pytest.mark.slow
def test_default_groups_do_not_ship(cli: CliRunner, grouped: Path, tmp_path: Path) -> None:
    result = cli("build", grouped, "--no-bytecode", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    entries = names(tmp_path / "out" / "function.zip")
    assert "six.py" in entries
    assert not any(name.startswith(("iniconfig", "pluggy", "idna")) for name in entries)
    packages = {package["name"] for package in metadata(tmp_path / "out" / "function.zip")["packages"]}
    assert packages == {"six", "grouped"}


@pytest.mark.slow
def test_only_listed_groups_ship(cli: CliRunner, grouped: Path, tmp_path: Path) -> None:
    # `groups` may name a default group ("test") or any other ("docs"); "dev" stays out.
    project = tmp_path / "grouped"
    shutil.copytree(grouped, project)
    config = project / "pyproject.toml"
    config.write_text(config.read_text() + 'groups = ["test", "docs"]\n')
    result = cli("build", project, "--no-bytecode")
    assert result.returncode == 0, result.stderr
    entries = names(project / "dist" / "lambda" / "grouped" / "function.zip")
    assert any(name.startswith("pluggy/") for name in entries) and any(name.startswith("idna/") for name in entries)
    assert not any(name.startswith("iniconfig") for name in entries)


@pytest.mark.slow
def test_build_from_inside_another_project_uses_the_built_projects_settings(
    cli: CliRunner, grouped: Path, tmp_path: Path
) -> None:
    caller = tmp_path / "caller"
    caller.mkdir()
    (caller / "pyproject.toml").write_text(HOSTILE)
    # A fresh cache: the dependencies must really be installed, from the caller's folder.
    env = {"UV_LAMBDA_CACHE_DIR": str(tmp_path / "cache")}
    result = cli("build", grouped, "--no-bytecode", "--out", tmp_path / "out", cwd=caller, env=env)
    assert result.returncode == 0, result.stderr
    assert "six.py" in names(tmp_path / "out" / "function.zip")


@pytest.mark.slow
def test_runtime_folder_ignores_the_callers_exclude_newer(tmp_path: Path) -> None:
    caller = tmp_path / "caller"
    caller.mkdir()
    (caller / "pyproject.toml").write_text(HOSTILE)
    code = (
        "import sys; from pathlib import Path; from uv_lambda.emulator.runtime_folder import ensure_runtime_folder; "
        "print(ensure_runtime_folder('%d.%d' % sys.version_info[:2], Path(sys.executable), with_boto3=False))"
    )
    env = {**os.environ, "UV_LAMBDA_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=caller, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip())
    client = folder / "awslambdaric" / "__init__.py"
    assert client.is_file()
    # Copies: no file of the folder is a hard link into uv's cache.
    assert all(path.stat().st_nlink == 1 for path in folder.rglob("*.py"))
