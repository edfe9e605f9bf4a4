"""The command line: parse, dispatch to one module per command, turn errors into exit codes.

Each module named in COMMANDS defines `register(subparsers, common)`, which adds its parser
and sets `handler` to a function `(args, reporter) -> int`: it parses, calls one use case in
uv_lambda/app/ and renders the result. Option groups several commands take are in
cli/options.py; no command module imports another. Command modules import their
heavy dependencies inside the handler so that start-up stays light; argparse and logging
themselves are imported only once `main` knows it needs them (see cli/_rebuild.py).
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence

from uv_lambda import INTERRUPTED, __version__
from uv_lambda.errors import ExitCode, UvLambdaError
from uv_lambda.ui import Reporter

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    import argparse

COMMANDS = ("build", "cache", "config", "deploy", "destroy", "dockerfile", "event", "init", "invoke", "serve")

DESCRIPTION = """\
Build, run locally and deploy a uv project as an AWS Lambda function.

  uv-lambda build                 build dist/lambda/<function>/function.zip
  uv-lambda invoke --event e.json  run the built function as Lambda would
  uv-lambda deploy                create or update the function in AWS

Run `uv-lambda COMMAND --help` for the options of a command."""


def _requested_command(argv: Sequence[str], names: list[str]) -> str | None:
    """The command named on the command line, if any (top-level options take no values)."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in names else None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv` naming a command, only that command's module is imported."""
    import argparse
    import importlib

    from uv_lambda.cli._parser import Parser

    # -v/-q work before and after the command name; SUPPRESS keeps a subcommand's parser
    # from resetting a flag given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show commands run, debug output and tracebacks",
    )
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print only warnings, errors and results",
    )

    parser = Parser(
        prog="uv-lambda",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"uv-lambda {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    requested = _requested_command(argv, list(COMMANDS)) if argv is not None else None
    modules = [importlib.import_module(f"{__name__}.{name}") for name in ([requested] if requested else COMMANDS)]
    for module in sorted(modules, key=lambda m: getattr(m, "ORDER", 100)):
        module.register(subparsers, common)
    return parser


def _configure_logging(verbose: bool) -> None:
    import logging

    log = logging.getLogger("uv_lambda")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("debug: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)


def _interrupt_on_sigterm() -> None:
    """SIGTERM (CI cancelling a job, `kill`) stops a command as Ctrl-C does: its processes
    are stopped and its scratch removed, instead of Python's default of exiting on the spot."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, interrupt)


def report_error(exc: UvLambdaError) -> int:
    """Bad input or failed work as the user sees it: one line, a hint, its exit code."""
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
    return int(exc.exit_code)


def report_interrupt() -> int:
    from uv_lambda.scratch import remove_own

    remove_own()
    sys.stderr.write(INTERRUPTED)
    return ExitCode.INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """The command line's entry point: an exit code, whatever happens (Ctrl-C included)."""
    try:
        code = _main(argv)
    except KeyboardInterrupt:  # before or after the command's own handling
        code = report_interrupt()
    if argv is None and (code == ExitCode.INTERRUPTED or _rebuild_completed()):
        # Exit now. With 130: CPython 3.11 remembers a Ctrl-C that interrupted code run by
        # exec() (dataclasses make their methods so) as unhandled, however it was handled,
        # and would end the process by SIGINT at exit instead. After an app-only rebuild:
        # everything is written and closed, and the interpreter's teardown (~2 ms of a
        # ~55 ms rebuild) would only free memory.
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _rebuild_completed() -> bool:
    rebuild = sys.modules.get("uv_lambda.cli._rebuild")
    return rebuild is not None and bool(getattr(rebuild, "completed", False))


def _main(argv: Sequence[str] | None) -> int:
    _interrupt_on_sigterm()
    arguments = sys.argv[1:] if argv is None else list(argv)
    code = _before_parsing(arguments)
    if code is not None:
        return code
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    # Parents share action objects between parsers, so defaults are filled in here.
    args.verbose = getattr(args, "verbose", False)
    args.quiet = getattr(args, "quiet", False)
    args.argv = arguments  # as typed: a rebuild record is keyed by it
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    _configure_logging(args.verbose)
    return _run_handler(args, Reporter(quiet=args.quiet))


def _before_parsing(arguments: list[str]) -> int | None:
    """The exit code of a `build` that needs no parser: the Terraform query (on stdin) or an
    app-only rebuild (cli/_rebuild.py); None for everything else."""
    if _requested_command(arguments, list(COMMANDS)) != "build":
        return None
    if "--terraform" in arguments and not {"-h", "--help"} & set(arguments):
        from uv_lambda.cli._terraform import run

        return run(arguments)
    from uv_lambda.cli._rebuild import try_rebuild

    return try_rebuild(arguments)


def _run_handler(args: argparse.Namespace, reporter: Reporter) -> int:
    """The command's exit code; its errors as one line (and a hint), tracebacks only with -v."""
    try:
        return int(args.handler(args, reporter))
    except UvLambdaError as exc:
        _debug_traceback(args.verbose)
        return report_error(exc)
    except KeyboardInterrupt:
        return report_interrupt()
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return _internal_error(exc, args.verbose)
        _debug_traceback(args.verbose)
        where = f" writing {exc.filename}" if exc.filename else ""
        print(f"error: no space left on device{where}", file=sys.stderr)
        print(
            "hint: free some space (or set UV_LAMBDA_CACHE_DIR / --out to another disk) and run again; "
            "the previous artifacts were kept",
            file=sys.stderr,
        )
        return ExitCode.FAILURE
    except Exception as exc:
        return _internal_error(exc, args.verbose)


def _debug_traceback(verbose: bool) -> None:
    if verbose:
        import logging

        logging.getLogger("uv_lambda").debug("traceback", exc_info=True)


def _internal_error(exc: Exception, verbose: bool) -> int:
    """A bug: say so, and show the traceback only when asked."""
    if verbose:
        raise exc
    print(f"error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    print("hint: run with -v for details, and report it", file=sys.stderr)
    return ExitCode.FAILURE
