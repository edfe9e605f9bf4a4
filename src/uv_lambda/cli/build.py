"""`uv-lambda build`: turn the project into Lambda artifacts."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from uv_lambda.bundle.tree import TREE_FORMATS
from uv_lambda.cli import _parser as cli_types
from uv_lambda.cli._build_output import report_artifacts
from uv_lambda.cli._common import (
    HelpFormatter,
    add_project_arguments,
    default_out_dir,
    select_functions,
)
from uv_lambda.config import FORMATS, FunctionConfig, with_overrides
from uv_lambda.errors import UsageError
from uv_lambda.image.command import add_image_options
from uv_lambda.model import Architecture, Format
from uv_lambda.project import Project
from uv_lambda.ui import Reporter, human_size

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
  image  a container image on the runtime's base image, built without Docker: pushed
         (--push or image-repository) or written (--output; default an OCI layout)
  dir, layer-dir, app-dir
         function.zip, layer.zip or app.zip unpacked into --out DIR (for SAM's makefile
         builder and other tools that zip for themselves); the zips stay in dist/lambda/

examples:
  uv-lambda build                          # dist/lambda/<project>/function.zip
  uv-lambda build --format split --arch arm64
  uv-lambda build --runtime python3.12 --out build/
  uv-lambda build --all --json > artifacts.json
  uv-lambda build --format image --push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1
  uv-lambda build --format dir --out "$ARTIFACTS_DIR"  # a SAM makefile target
  echo '{"path": "."}' | uv-lambda build --terraform  # Terraform's external data source"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "build",
        parents=[common],
        help="build zip / layer / split artifacts or a container image",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_project_arguments(parser)
    add_build_arguments(parser, formats=(*FORMATS, *TREE_FORMATS))
    add_image_options(parser)
    parser.add_argument(
        "--out",
        type=cli_types.path,
        metavar="DIR",
        help="output folder (default: dist/lambda/<function>/; with --all, DIR/<function>/)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the artifacts' metadata as one JSON document on stdout",
    )
    parser.add_argument(
        "--metadata",
        type=cli_types.text,
        metavar="FILE|-",
        help="also write that JSON document to FILE (rewritten only when it changes), or to stdout with -",
    )
    parser.add_argument(
        "--terraform",
        action="store_true",
        help="run as Terraform's `external` data source: read the query on stdin, print one "
        "flat JSON object of strings (docs/terraform.md)",
    )
    parser.set_defaults(handler=run)


def add_build_arguments(
    parser: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS, *, lock: bool = True
) -> None:
    """Options that change what is built; shared by commands that build before acting, and by
    `config`, which shows their effect (without --lock: it locks nothing)."""
    group = parser.add_argument_group("build options (override [tool.uv-lambda])")
    group.add_argument("--format", choices=formats, help=f"artifact format (default: {FunctionConfig.format})")
    group.add_argument(
        "--arch", choices=tuple(Architecture), help=f"target architecture (default: {FunctionConfig.architecture})"
    )
    group.add_argument(
        "--runtime",
        type=cli_types.text,
        metavar="python3.X",
        help="Lambda runtime, e.g. python3.13 (default: from requires-python / .python-version)",
    )
    group.add_argument(
        "--handler",
        dest="lambda_handler",
        type=cli_types.text,
        metavar="MODULE.FUNCTION",
        help="handler, e.g. app.main.handler",
    )
    group.add_argument(
        "--package",
        type=cli_types.text,
        metavar="MEMBER",
        help="the workspace member that holds the function (default: the project at PATH)",
    )
    group.add_argument(
        "--python",
        type=cli_types.text,
        metavar="PATH",
        help="interpreter of the runtime's Python version, to compile bytecode",
    )
    group.add_argument("--no-bytecode", action="store_true", help="ship no .pyc files (slower cold starts)")
    if lock:
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
    if args.json or args.metadata == "-":
        reporter = Reporter(quiet=True)
    if args.metadata:
        from uv_lambda.cli._documents import check_target

        check_target(args.metadata)
    tree = TREE_FORMATS.get(args.format or "")
    if tree is not None:
        if args.out is None:
            raise UsageError(
                f"--format {args.format} needs --out DIR, the folder to fill", "e.g. --out $(ARTIFACTS_DIR)"
            )
        args.format = tree[0]  # the zip format whose artifact is unpacked
    project, functions = select_functions(args)
    documents: list[dict[str, object]] = []
    for config in functions:
        out_dir = default_out_dir(project, config.name)
        if args.out:
            out_dir = args.out / config.name if len(functions) > 1 else args.out
        effective = with_overrides(config, **overrides(args))
        reporter.info(f"building {config.name} ({effective.format})")
        if effective.format is Format.IMAGE:
            documents.append(_build_image(args, project, effective, out_dir, reporter))
        elif tree is not None:
            from uv_lambda.bundle.tree import check_destination

            check_destination(out_dir, project.root)  # before any work
            zips = _build_zips(
                args,
                project,
                config,
                default_out_dir(project, config.name),
                reporter,
                len(functions),
                never_inputs=[out_dir],
            )
            from uv_lambda.cli._build_output import unpack_into

            documents += unpack_into(zips, tree[1], out_dir, reporter)
        else:
            documents += _build_zips(args, project, config, out_dir, reporter, len(functions))
    if args.json or args.metadata:
        from uv_lambda.cli._documents import deliver

        deliver(documents, to_stdout=args.json, metadata=args.metadata)
    return 0


def _build_zips(
    args: argparse.Namespace,
    project: Project,
    config: FunctionConfig,
    out_dir: Path,
    reporter: Reporter,
    function_count: int,
    never_inputs: Sequence[Path] = (),
) -> list[dict[str, object]]:
    """Build into out_dir: its record is shared with invoke, serve and deploy (cli/_shared_build.py)."""
    from uv_lambda.cli._shared_build import build_into, remember_command

    if args.push is not None or args.output is not None or args.base_image is not None:
        raise UsageError("--push, --output and --base-image apply to --format image", "add --format image")
    build = build_into(
        project,
        config,
        out_dir,
        reporter,
        overrides=overrides(args),
        lock=args.lock,
        full=args.verbose,
        never_inputs=never_inputs,
    ).build
    if function_count == 1:
        # The next run of this command line finds the record before loading anything (cli/_rebuild.py).
        remember_command(args.argv, out_dir, never_inputs)
    documents: list[dict[str, object]] = [
        {"path": str(artifact.path), **artifact.metadata.to_json()} for artifact in build.artifacts
    ]
    report_artifacts(documents, reporter)
    return documents


def _build_image(
    args: argparse.Namespace, project: Project, config: FunctionConfig, out_dir: Path, reporter: Reporter
) -> dict[str, object]:
    from uv_lambda.bundle.pipeline import check_out_dir
    from uv_lambda.image.command import build_function_image

    check_out_dir(out_dir)
    image = build_function_image(
        project,
        config,
        out_dir=out_dir,
        reporter=reporter,
        push=args.push,
        output=args.output,
        base_image=args.base_image,
        lock=args.lock,
    )
    where = image.pushed or image.output
    reporter.info(f"  {where}  {image.digest}, {image.layer_count} layers, {human_size(image.bytes_uploaded)} uploaded")
    return {"function": config.name, "format": Format.IMAGE.value, **image.to_json()}
