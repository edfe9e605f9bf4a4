"""What several commands share besides option groups (cli/options.py): which project and
functions they act on, and how they render what the application returns."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from uv_lambda.cli import _parser as cli_types
from uv_lambda.config import FunctionConfig
from uv_lambda.errors import ExitCode, UsageError
from uv_lambda.project import Project, load_project
from uv_lambda.project import default_out_dir as default_out_dir  # shared by the commands
from uv_lambda.ui import Reporter

if TYPE_CHECKING:
    from uv_lambda.app.deploy import Applied
    from uv_lambda.app.local import LocalRequest
    from uv_lambda.emulator.function import LocalFunction, RunOptions


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the hand-wrapped examples in each command's description."""


def add_project_arguments(
    parser: argparse.ArgumentParser, *, allow_all: bool = True, without_function: str = "the only one"
) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        type=cli_types.path,
        default=None,
        metavar="PATH",
        help="the project folder (default: the current folder)",
    )
    parser.add_argument(
        "-f",
        "--function",
        type=cli_types.text,
        metavar="NAME",
        help=f"the function to act on, from [tool.uv-lambda.functions.NAME] (default: {without_function})",
    )
    if allow_all:
        parser.add_argument("--all", action="store_true", help="act on every configured function")


def select_functions(args: argparse.Namespace) -> tuple[Project, list[FunctionConfig]]:
    """The project at args.path and the functions that args.function / args.all name."""
    project = load_project(args.path)
    functions = project.functions()
    if getattr(args, "all", False):
        return project, list(functions.values())
    if args.function:
        if args.function not in functions:
            import difflib

            close = difflib.get_close_matches(args.function, functions, n=1)
            known = "functions: " + ", ".join(functions)
            raise UsageError(
                f"no function {args.function!r} in {project.root / 'pyproject.toml'}",
                f"did you mean {close[0]!r}? ({known})" if close else known,
            )
        return project, [functions[args.function]]
    if len(functions) > 1:
        raise UsageError(
            f"{project.root / 'pyproject.toml'} defines {len(functions)} functions",
            "pick one with --function NAME (" + ", ".join(functions) + ") or pass --all",
        )
    return project, list(functions.values())


def render_results(results: list[Applied], *, as_json: bool, detailed_exitcode: bool = False) -> int:
    """`deploy` and `destroy`: the JSON document with --json; the exit code (with
    --detailed-exitcode, 2 when the plans hold changes)."""
    from uv_lambda.deploy import render
    from uv_lambda.ui import result

    if as_json:
        result(render.json_document(results))
    if detailed_exitcode and any(plan.changes for plan, _ in results):
        return int(ExitCode.USAGE)  # 2: there are changes (see --detailed-exitcode)
    return 0


def announce_sandbox(function: LocalFunction, reporter: Reporter) -> None:
    """`invoke` and `serve`: the one start-up line of an unsandboxed run, what differs from Lambda."""
    note = function.spec.sandbox.note
    if note:
        reporter.info(note)


def open_function(
    args: argparse.Namespace,
    reporter: Reporter,
    *,
    concurrency: int | None = None,
    one_shot: bool = False,
) -> LocalFunction:
    """`invoke`: the LocalFunction its run flags (cli/options.py) describe. `one_shot`: it runs
    one event and the process ends (no draft of the next tree is linked; its environment
    starts while it builds, see emulator/early_start.py)."""
    from uv_lambda.app.local import open_local

    request, run_options = local_request(args, concurrency=concurrency, one_shot=one_shot)
    return open_local(request, run_options, reporter, lambda: select_function(args))


def local_request(
    args: argparse.Namespace, *, concurrency: int | None = None, one_shot: bool = False
) -> tuple[LocalRequest, RunOptions]:
    """`invoke` and `serve`: the local run their run flags (cli/options.py) describe, and its
    options (`one_shot`: see open_function)."""
    from uv_lambda.app.local import LocalRequest
    from uv_lambda.emulator.function import RunOptions

    request = LocalRequest(
        artifact=args.artifact,
        image=args.image,
        layers=args.layer,
        flags={
            "handler": args.handler_name,
            "runtime": args.runtime,
            "timeout": args.timeout,
            "memory": args.memory,
            "concurrency": concurrency,
        },
    )
    run_options = RunOptions(
        with_boto3=not args.no_boto3,
        pass_credentials=not args.no_credentials,
        python=args.python,
        sandbox=args.sandbox,
        draft=not one_shot,
    )
    return request, run_options


def select_function(args: argparse.Namespace) -> tuple[Project, FunctionConfig]:
    """The project at args.path and the one function args.function names (or its only one)."""
    project, [config] = select_functions(args)
    return project, config
