"""The command line itself: help, version, start-up cost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.projects import CliRunner

from uv_lambda import __version__
from uv_lambda.cli import build_parser

HEAVY_MODULES = (
    "http.client",
    "tarfile",
    "gzip",
    "ssl",
    "uv_lambda.image.assemble",
    "uv_lambda.deploy.aws",
    "uv_lambda.emulator.pool",
    "boto3",
    "botocore",
    "httpx",
    "urllib3",
    "requests",
    "http.server",
    "zipfile",
    "awslambdaric",
)


def test_version_and_help(cli: CliRunner) -> None:
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"uv-lambda {__version__}"
    top = cli("--help")
    assert top.returncode == 0 and "build" in top.stdout
    bare = cli()
    assert bare.returncode == 2


def _commands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "==SUPPRESS==" and hasattr(a, "choices"))
    return sorted(action.choices)  # type: ignore[arg-type]


@pytest.mark.parametrize("command", _commands())
def test_every_command_explains_itself_with_an_example(cli: CliRunner, command: str) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0
    assert "example" in result.stdout.lower(), f"{command} --help has no example"
    assert "--verbose" in result.stdout


def test_startup_imports_nothing_heavy() -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import uv_lambda.cli; uv_lambda.cli.build_parser()",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in probe.stderr.splitlines() if "|" in line}
    heavy = sorted(name for name in imported if name.split(".")[0] in HEAVY_MODULES or name in HEAVY_MODULES)
    assert not heavy, f"imported at start-up: {heavy}"


@pytest.mark.parametrize("command", ["build", "invoke", "deploy"])
def test_a_reserved_environment_variable_is_a_configuration_error(cli: CliRunner, tmp_path: Path, command: str) -> None:
    project = tmp_path / "fn"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "fn"\nversion = "0"\n\n[tool.uv-lambda]\nhandler = "app.handler"\n'
        '[tool.uv-lambda.environment]\nSTAGE = "dev"\nAWS_LAMBDA_FUNCTION_NAME = "other"\n'
    )
    result = cli(command, cwd=project)
    assert result.returncode == 2, result.stderr
    assert "environment sets AWS_LAMBDA_FUNCTION_NAME, which Lambda reserves" in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr
