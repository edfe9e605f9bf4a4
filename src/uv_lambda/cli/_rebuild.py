"""`uv-lambda build` when only application code changed: checked before anything else loads.

The CLI's parser and the configuration machinery take longer to import than such a rebuild
takes to run, so `main` asks this module first. It works from the raw command line: a command
line that parsed and built successfully before noted which record (one per artifact folder)
it built into, and with which settings (record_file.find), so only the flags that change the
output need reading here.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence

from uv_lambda.errors import UvLambdaError
from uv_lambda.ui import Reporter, result

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from typing import Any

    from uv_lambda.bundle.rebuild import incremental, record_file

_OUTPUT_FLAGS = {"-q": "quiet", "--quiet": "quiet", "--json": "json"}


def try_rebuild(argv: Sequence[str]) -> int | None:
    """The exit code of an app-only rebuild, or None when the full command must run."""
    options = [arg for arg in argv if arg.startswith("-")]
    # -v wants the full pipeline's debug output; combined short flags (-qv) are left to argparse.
    if any(arg in ("-v", "--verbose", "-h", "--help") or (len(arg) > 2 and arg[1] != "-") for arg in options):
        return None
    flags = {_OUTPUT_FLAGS[arg] for arg in options if arg in _OUTPUT_FLAGS}
    metadata = None
    if any(arg.startswith("--metadata") for arg in options):
        from uv_lambda.cli._documents import STDOUT, option_value

        metadata = option_value(argv, "--metadata")
        if metadata == STDOUT:
            flags.add("json")
    reporter = Reporter(quiet=bool(flags))
    try:
        outcome = _rebuild(argv)
        if outcome is None:
            return None
        started, rebuilt = outcome
        _report(rebuilt, reporter)
        documents = rebuilt.documents
        if any(arg.startswith("--format") for arg in options):
            documents = _unpack_tree(argv, documents, started.build.root, reporter)
        if metadata:
            from uv_lambda.cli._documents import deliver

            deliver(documents, to_stdout="json" in flags, metadata=metadata)
    except UvLambdaError as exc:
        from uv_lambda.cli import report_error

        return report_error(exc)
    if "json" in flags and not metadata:
        result(json.dumps({"artifacts": documents}, indent=2, sort_keys=True))
    _finish(rebuilt)
    return 0


def _rebuild(argv: Sequence[str]) -> tuple[record_file.Started, incremental.Rebuilt] | None:
    """The rebuild `uv-lambda <argv>` noted last brought up to date; None when the full
    build must run (no such note, a stale record, anything unexpected)."""
    from uv_lambda.bundle.rebuild import record_file

    try:
        # The compiler starts here, before the rest of the rebuild is even imported.
        pointer = record_file.find(argv)
        started = None if pointer is None else record_file.start(pointer.record, pointer)
        if started is None:
            return None
        from uv_lambda.bundle.rebuild import incremental

        rebuilt = incremental.rebuild(started)
    except (OSError, ValueError, LookupError, TypeError):
        # A file vanished or cannot be read, or an artifact's metadata was edited: the full
        # build says what is wrong, or rewrites it.
        return None
    # Ctrl-C is main()'s to report, as for any command: every file is written to a
    # temporary name first, so nothing is left half-written.
    return None if rebuilt is None else (started, rebuilt)


def _report(rebuilt: incremental.Rebuilt, reporter: Reporter) -> None:
    """What a full build reports: what was built, the artifacts, the warnings."""
    from uv_lambda.cli._build_output import report_artifacts

    first = rebuilt.documents[0]
    if rebuilt.changed:
        more = f" and {len(rebuilt.changed) - 3} more" if len(rebuilt.changed) > 3 else ""
        changed = ", ".join(rebuilt.changed[:3]) + more
        reporter.info(f"building {first['function']} ({first['format']}): {changed} changed, the rest reused")
    else:
        reporter.info(f"{first['function']} ({first['format']}) is up to date")
    report_artifacts(rebuilt.documents, reporter)
    for warning in rebuilt.warnings:
        reporter.warn(warning)


# Set once an app-only rebuild has written everything and reaped what it started: the
# command-line entry (cli.main) may then end the process without the interpreter's teardown.
completed = False


def _finish(rebuilt: incremental.Rebuilt) -> None:
    global completed
    # What a killed build left (its scratch), as every build does: a few listings.
    from os.path import dirname

    from uv_lambda.scratch import sweep_for_build

    sweep_for_build({dirname(document["path"]) for document in rebuilt.documents})
    # The process ends next. Its final garbage collection would walk every object of every
    # module loaded (~8 ms, a tenth of a rebuild); frozen objects are skipped. Safe here:
    # this path closes its files and reaps its compiler itself.
    gc.freeze()
    completed = True


def _unpack_tree(argv: Sequence[str], documents: list[Any], root: str, reporter: Reporter) -> list[Any]:
    """`--format dir` and the like: unpack the rebuilt (or up-to-date) zip into --out, as the
    full build does (cli/build.py)."""
    from uv_lambda.cli._build_output import unpack_into
    from uv_lambda.cli._documents import option_value

    tree_format = option_value(argv, "--format")
    from uv_lambda.bundle import tree

    if tree_format not in tree.TREE_FORMATS:
        return documents
    out = option_value(argv, "--out")
    if out is None:  # a recorded command line had it: argparse requires it
        return documents
    from pathlib import Path

    folder = Path(out)
    tree.check_destination(folder, Path(root))
    return unpack_into(documents, tree.TREE_FORMATS[tree_format][1], folder, reporter)
