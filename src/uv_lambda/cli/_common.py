"""Arguments and steps that several commands share: which project, which functions."""

from __future__ import annotations

import argparse

from uv_lambda.cli import _parser as cli_types
from uv_lambda.config import FunctionConfig
from uv_lambda.errors import UsageError
from uv_lambda.project import Project, load_project
from uv_lambda.project import default_out_dir as default_out_dir  # shared by the commands


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
