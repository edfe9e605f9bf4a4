"""`uv-lambda build`: turn the project into Lambda artifacts."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from uv_lambda.bundle.tree import TREE_FORMATS
from uv_lambda.cli import _parser as cli_types
from uv_lambda.cli import options
from uv_lambda.cli._build_output import report_artifacts
from uv_lambda.cli._common import HelpFormatter, add_project_arguments, default_out_dir, select_functions
from uv_lambda.config import FORMATS, FunctionConfig, with_overrides
from uv_lambda.errors import UsageError
from uv_lambda.model import Format
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
    options.add_build_arguments(parser, formats=(*FORMATS, *TREE_FORMATS))
    options.add_image_arguments(parser)
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


Document = dict[str, object]


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
    documents: list[Document] = []
    for config in functions:
        out_dir = default_out_dir(project, config.name)
        if args.out:
            out_dir = args.out / config.name if len(functions) > 1 else args.out
        effective = with_overrides(config, **options.overrides(args))
        reporter.info(f"building {config.name} ({effective.format})")
        if effective.format is Format.IMAGE:
            documents.append(_build_image(args, project, effective, out_dir, reporter))
            continue
        _refuse_image_flags(args)
        if tree is not None:
            documents += _build_tree(args, (project, config), out_dir, reporter, tree[1], remember=len(functions) == 1)
        else:
            documents += _build_zips(args, (project, config), out_dir, reporter, remember=len(functions) == 1)
    if args.json or args.metadata:
        from uv_lambda.cli._documents import deliver

        deliver(documents, to_stdout=args.json, metadata=args.metadata)
    return 0


def _refuse_image_flags(args: argparse.Namespace) -> None:
    if args.push is not None or args.output is not None or args.base_image is not None:
        raise UsageError("--push, --output and --base-image apply to --format image", "add --format image")


def _build_tree(
    args: argparse.Namespace,
    function: tuple[Project, FunctionConfig],
    folder: Path,
    reporter: Reporter,
    name: str,
    *,
    remember: bool,
) -> list[Document]:
    """Build the zips into dist/lambda/<fn>/, unpack the artifact `name` into `folder`; its
    document then names the folder too."""
    from uv_lambda.bundle.tree import check_destination
    from uv_lambda.cli._build_output import unpack_into

    project, config = function
    check_destination(folder, project.root)  # before any work
    shared = default_out_dir(project, config.name)
    zips = _build_zips(args, function, shared, reporter, remember=remember, never_inputs=[folder])
    return unpack_into(zips, name, folder, reporter)


def _build_zips(
    args: argparse.Namespace,
    function: tuple[Project, FunctionConfig],
    out_dir: Path,
    reporter: Reporter,
    *,
    remember: bool,
    never_inputs: Sequence[Path] = (),
) -> list[Document]:
    """Build into out_dir: its record is shared with invoke, serve and deploy (app/build.py).
    `never_inputs`: other folders this build writes to (a tree format's --out)."""
    from uv_lambda.app.build import BuildOptions, build_into, remember_command

    project, config = function
    how = BuildOptions(overrides=options.overrides(args), lock=args.lock, full=args.verbose, never_inputs=never_inputs)
    build = build_into(project, config, out_dir, reporter, how).build
    if remember:
        # The next run of this command line finds the record before loading anything (cli/_rebuild.py).
        remember_command(args.argv, out_dir, never_inputs)
    documents: list[Document] = [
        {"path": str(artifact.path), **artifact.metadata.to_json()} for artifact in build.artifacts
    ]
    report_artifacts(documents, reporter)
    return documents


def _build_image(
    args: argparse.Namespace, project: Project, config: FunctionConfig, out_dir: Path, reporter: Reporter
) -> Document:
    from uv_lambda.app.image import build_function_image, configured_target
    from uv_lambda.bundle.pipeline import check_out_dir
    from uv_lambda.image.reference import image_target

    check_out_dir(out_dir)
    target = configured_target(config, image_target(push=args.push, output=args.output, base_image=args.base_image))
    image = build_function_image(project, config, target, out_dir=out_dir, reporter=reporter, lock=args.lock)
    where = image.pushed or image.output
    reporter.info(f"  {where}  {image.digest}, {image.layer_count} layers, {human_size(image.bytes_uploaded)} uploaded")
    return {"function": config.name, "format": Format.IMAGE.value, **image.to_json()}
