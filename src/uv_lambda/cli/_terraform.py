"""`uv-lambda build --terraform`: the build as Terraform's `external` data source program.

The protocol (hashicorp/external): the program reads one JSON object whose values are all
strings on stdin, and on success prints one flat JSON object whose values are all strings on
stdout and exits 0. On failure the provider shows stderr and the exit status, so an error is
one line there and exit 1 or 2. Terraform runs the program on every plan and refresh.

The query becomes an ordinary `uv-lambda build ... --json` command line, so the build is the
one `uv-lambda build` does, including the app-only rebuild: the same query in the same folder
with nothing changed reports the artifacts up to date and writes nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from uv_lambda.errors import ExitCode
from uv_lambda.model import Format

FLAG = "--terraform"
# query key -> the build option it sets (`path` is the positional argument)
OPTIONS = {"function": "--function", "format": "--format", "arch": "--arch", "runtime": "--runtime", "out": "--out"}
KEYS = ("path", *OPTIONS)
FORMATS = tuple(format for format in Format if format is not Format.IMAGE)
# Options that would make the result something other than one function's zips.
REFUSED = ("--all", "--format", "--push", "--output", "--base-image")


class QueryError(Exception):
    """The query on stdin is not what the protocol allows; exit 2."""


def parse_query(text: str) -> dict[str, str]:
    """The query object, checked: a JSON object of strings with known keys and a path."""
    try:
        query = json.loads(text)
    except ValueError as exc:
        raise QueryError(f"the query on stdin is not JSON ({exc}); set it with query = {{ path = ... }}") from None
    if not isinstance(query, dict):
        raise QueryError('the query on stdin must be a JSON object, e.g. {"path": "../services/api"}')
    unknown = sorted(set(query) - set(KEYS))
    if unknown:
        raise QueryError(f"unknown query key {unknown[0]!r}; known keys: {', '.join(KEYS)}")
    wrong = sorted(key for key, value in query.items() if not isinstance(value, str))
    if wrong:
        raise QueryError(f"query value {wrong[0]!r} must be a string, as the external data source sends it")
    if not query.get("path"):
        raise QueryError('the query has no "path"; set query = { path = "<project folder>" }')
    if query.get("format") and query["format"] not in FORMATS:
        raise QueryError(f"format {query['format']!r} cannot be used from Terraform; use one of {', '.join(FORMATS)}")
    return query


def build_argv(argv: Sequence[str], query: dict[str, str]) -> list[str]:
    """The `uv-lambda build` command line the query stands for (the same query, the same line)."""
    extra = [arg for arg in argv if arg not in (FLAG, "--json")]
    line = [*extra, query["path"]]
    for key, option in OPTIONS.items():
        if query.get(key):
            line += [option, query[key]]
    return [*line, "--json"]


def result_document(artifacts: list[dict[str, Any]]) -> dict[str, str]:
    """The flat object of strings Terraform gets, from the artifacts `build --json` lists."""
    by_role = {document["role"]: document for document in artifacts}
    code = by_role.get("function") or by_role.get("app") or by_role["layer"]
    result = {
        "function": code["function"],
        "format": code["format"],
        "filename": os.path.abspath(code["path"]),
        "code_sha256": code["code_sha256"],
        "sha256": code["sha256"],
        "size": str(code["size"]),
        "handler": code.get("handler") or "",
        "runtime": code["runtime"],
        "architecture": code["architecture"],
    }
    layer = by_role.get("layer")
    if layer is not None and layer is not code:
        result["layer_filename"] = os.path.abspath(layer["path"])
        result["layer_code_sha256"] = layer["code_sha256"]
        result["layer_sha256"] = layer["sha256"]
        result["layer_size"] = str(layer["size"])
    return result


def one_line_error(stderr: str) -> str:
    """The build's `error:` and `hint:` lines as one line (argparse's `... error:` too)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    error = next((line for line in reversed(lines) if "error:" in line), None)
    if error is None:
        return "error: the build failed" + (f": {lines[-1]}" if lines else "")
    error = "error: " + error.split("error:", 1)[1].strip()
    hint = next((line for line in lines if line.startswith("hint: ")), None)
    return f"{error} ({hint})" if hint else error


def run(argv: Sequence[str]) -> int:
    """Read the query, build, print the result object; every log line goes to stderr."""
    from uv_lambda.cli import main

    try:
        refused = next((arg for arg in argv if arg.split("=", 1)[0] in REFUSED), None)
        if refused is not None:
            option = refused.split("=", 1)[0]
            raise QueryError(
                f"{option} cannot be combined with --terraform; name one function and its format in the query"
            )
        query = parse_query(sys.stdin.read())
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(build_argv(argv, query))
        except SystemExit as exc:  # argparse rejected an option
            code = exc.code if isinstance(exc.code, int) else int(ExitCode.USAGE)
    if code != 0:
        print(one_line_error(err.getvalue()), file=sys.stderr)
        return int(ExitCode.USAGE) if code == ExitCode.USAGE else int(ExitCode.FAILURE)
    sys.stderr.write(err.getvalue())
    artifacts = json.loads(out.getvalue())["artifacts"]
    sys.stdout.write(json.dumps(result_document(artifacts), sort_keys=True) + "\n")
    return 0
