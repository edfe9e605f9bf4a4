"""`uv-lambda dockerfile`: write the uv guide's multi-stage Dockerfile and a .dockerignore."""

from __future__ import annotations

import argparse

from uv_lambda.cli._common import HelpFormatter, add_project_arguments
from uv_lambda.config import FunctionConfig
from uv_lambda.model import Architecture, Format
from uv_lambda.ui import Reporter, result

ORDER = 60

DESCRIPTION = """\
Write a Dockerfile that builds the function's image with Docker, as the uv guide does: a
builder stage installs the locked dependencies with uv (bytecode compiled, cache mount) in
their own layer, workspace members in a second layer, then the application code is copied
onto the Lambda base image and the handler set. The uv image is pinned to the uv in use.
(Workspace members are installed with two fixes to the guide's step; see docs/image.md.)
Also writes a .dockerignore (environments, build output, secret-looking files) unless one
exists. An existing Dockerfile is only replaced with --force.

To build the image without Docker, see `uv-lambda build --format image`.

examples:
  uv-lambda dockerfile                     # ./Dockerfile for the only function
  uv-lambda dockerfile --arch arm64        # on public.ecr.aws/lambda/python:3.X-arm64
  uv-lambda dockerfile --function api --force
  docker build -t api .                    # then build it with Docker"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "dockerfile",
        parents=[common],
        help="write the uv guide's Dockerfile for the function",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_project_arguments(parser, allow_all=False)
    parser.add_argument(
        "--arch", choices=tuple(Architecture), help=f"target architecture (default: {FunctionConfig.architecture})"
    )
    parser.add_argument(
        "--runtime",
        metavar="python3.X",
        help="Lambda runtime, e.g. python3.13 (default: from requires-python / .python-version)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing Dockerfile and .dockerignore")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    from uv_lambda.cli._common import select_functions
    from uv_lambda.config import with_overrides
    from uv_lambda.image.dockerfile import write_dockerfile

    project, [config] = select_functions(args)
    config = with_overrides(config, architecture=args.arch, runtime=args.runtime, format=Format.ZIP)
    several = len(project.functions()) > 1
    written = write_dockerfile(project, config, force=args.force, per_function=several)
    for path in written.written:
        reporter.info(f"wrote {path}")
    if written.kept_dockerignore:
        reporter.info(f"kept the existing {written.kept_dockerignore} (--force replaces it)")
    reporter.info(f"build it with: {written.build_command}")
    result(str(written.dockerfile))
    return 0
