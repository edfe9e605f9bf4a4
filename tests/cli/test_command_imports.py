"""The command modules stay independent: shared options live in cli/options.py, shared steps
in cli/_common.py and the use cases in uv_lambda/app/, so no cli/<command>.py imports another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from uv_lambda.cli import COMMANDS

CLI = Path(__file__).resolve().parents[2] / "src" / "uv_lambda" / "cli"


def imported_commands(source: str) -> set[str]:
    """The command modules `source` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module == "uv_lambda.cli":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("uv_lambda.cli."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[2] for alias in node.names if alias.name.startswith("uv_lambda.cli.")}
    return found & set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_no_command_imports_another(command: str) -> None:
    others = imported_commands((CLI / f"{command}.py").read_text()) - {command}
    assert not others, f"cli/{command}.py imports the command module(s) {sorted(others)}"


def test_the_check_sees_every_form_of_import() -> None:
    source = (
        "from uv_lambda.cli.deploy import confirm\n"
        "def f():\n    from uv_lambda.cli import invoke\n"
        "import uv_lambda.cli.build\n"
        "from uv_lambda.cli import options\nfrom uv_lambda.cli._common import select_functions\n"
    )
    assert imported_commands(source) == {"deploy", "invoke", "build"}


def _imports_of(path: Path) -> set[tuple[str, str]]:
    return {
        (node.module, alias.name)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def test_deploy_reaches_the_executor_through_the_app_layer() -> None:
    """cli/__init__.py -> cli/deploy.py -> app/deploy.py -> deploy/executor.py (docs/architecture.md)."""
    command = _imports_of(CLI / "deploy.py")
    assert ("uv_lambda.app.deploy", "deploy") in command
    assert not {module for module, _ in command if module.startswith("uv_lambda.deploy.")} - {
        "uv_lambda.deploy.desired"  # DeployOptions, the flags' typed form
    }
    assert ("uv_lambda.deploy.executor", "execute") in _imports_of(CLI.parent / "app" / "deploy.py")


@pytest.mark.parametrize(
    ("command", "use_case", "driven"),
    [
        (
            "serve",
            ("uv_lambda.app.serve", "serve"),
            {"uv_lambda.emulator.http_server", "uv_lambda.emulator.hot_swap", "uv_lambda.emulator.watch"},
        ),
        ("invoke", ("uv_lambda.app.remote", "invoke_deployed"), {"uv_lambda.deploy.remote", "uv_lambda.deploy.aws"}),
    ],
)
def test_run_commands_reach_their_subsystems_through_the_app_layer(
    command: str, use_case: tuple[str, str], driven: set[str]
) -> None:
    """serve's server loop and swap, and invoke --remote's call to AWS, are use cases in app/."""
    imports = _imports_of(CLI / f"{command}.py")
    assert use_case in imports
    assert not {module for module, _ in imports} & driven, f"cli/{command}.py drives {sorted(driven)} itself"
