"""`uv-lambda build`: turn the project into Lambda artifacts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from uv_lambda.cli._common import (
    HelpFormatter,
    add_project_arguments,
    default_out_dir,
    select_functions,
)
from uv_lambda.config import with_overrides
from uv_lambda.errors import UsageError
from uv_lambda.ui import Reporter, human_size, result

ORDER = 10

DESCRIPTION = """\
Build a Lambda deployment package from a uv project: dependencies from uv.lock installed
for the target runtime and architecture, workspace packages built from source, your
application code, bytecode compiled for the target Python. Every artifact is verified
(wheel tags, ELF machine and glibc, extension ABI, handler) and byte-for-byte reproducible.

formats:
  zip    function.zip: dependencies + workspace packages + application (default)
  layer  layer.zip: third-party dependencies under python/lib/python3.X/site-packages/
  split  layer.zip + app.zip (application + workspace packages)

examples:
  uv-lambda build                          # dist/lambda/<project>/function.zip
  uv-lambda build --format split --arch arm64
  uv-lambda build --runtime python3.12 --out build/
  uv-lambda build --all --json > artifacts.json"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "build",
        parents=[common],
        help="build zip / layer / split artifacts",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_project_arguments(parser)
    add_build_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default: dist/lambda/<function>/; with --all, DIR/<function>/)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the artifacts' metadata as one JSON document on stdout",
    )
    parser.set_defaults(handler=run)


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that change what is built; shared by commands that build before acting."""
    group = parser.add_argument_group("build options (override [tool.uv-lambda])")
    group.add_argument("--format", choices=("zip", "layer", "split"), help="artifact format (default: zip)")
    group.add_argument("--arch", choices=("x86_64", "arm64"), help="target architecture (default: x86_64)")
    group.add_argument(
        "--runtime",
        metavar="python3.X",
        help="Lambda runtime, e.g. python3.13 (default: from requires-python / .python-version)",
    )
    group.add_argument(
        "--handler",
        dest="lambda_handler",
        metavar="MODULE.FUNCTION",
        help="handler, e.g. app.main.handler",
    )
    group.add_argument(
        "--package",
        metavar="MEMBER",
        help="the workspace member that holds the function (default: the project at PATH)",
    )
    group.add_argument(
        "--python",
        metavar="PATH",
        help="interpreter of the runtime's Python version, to compile bytecode",
    )
    group.add_argument("--no-bytecode", action="store_true", help="ship no .pyc files (slower cold starts)")
    group.add_argument("--lock", action="store_true", help="run `uv lock` first when uv.lock is missing or stale")


def overrides(args: argparse.Namespace) -> dict[str, object]:
    return {
        "format": args.format,
        "architecture": args.arch,
        "runtime": args.runtime,
        "handler": args.lambda_handler,
        "python": args.python,
        "package": args.package,
        "bytecode": False if args.no_bytecode else None,
    }


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    from uv_lambda.build import build_function

    if args.json:
        reporter = Reporter(quiet=True)
    project, functions = select_functions(args)
    documents = []
    for config in functions:
        config = with_overrides(config, **overrides(args))
        if config.format == "image":
            raise UsageError("format 'image' is not available in this version", "use zip, layer or split")
        out_dir = default_out_dir(project, config.name)
        if args.out:
            out_dir = args.out / config.name if len(functions) > 1 else args.out
        reporter.info(f"building {config.name} ({config.format})")
        build = build_function(project, config, out_dir=out_dir, reporter=reporter, lock=args.lock)
        for artifact in build.artifacts:
            meta = artifact.metadata
            documents.append({"path": str(artifact.path), **meta.to_json()})
            reporter.info(
                f"  {artifact.path}  {human_size(meta.size)} zipped, {human_size(meta.unzipped_size)} unzipped, "
                f"{meta.file_count} files, {meta.runtime} {meta.architecture}"
            )
        largest = sorted(
            (p for p in build.artifacts[0].metadata.packages if p.size),
            key=lambda p: p.size,
            reverse=True,
        )[:5]
        if largest:
            reporter.info("  largest packages: " + ", ".join(f"{p.name} {human_size(p.size)}" for p in largest))
    if args.json:
        result(json.dumps({"artifacts": documents}, indent=2, sort_keys=True))
    return 0
