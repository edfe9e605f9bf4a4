"""The option groups several commands share, defined once: AWS, build, image, local run, --yes.

A command module adds the groups it takes and reads them back with the helpers here
(`overrides`); no command module imports another.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from uv_lambda.cli import _parser as cli_types
from uv_lambda.config import FORMATS, FunctionConfig
from uv_lambda.limits import MEMORY_MB, TIMEOUT_SECONDS
from uv_lambda.model import Architecture


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    """--region, --profile, --endpoint-url: `deploy`, `destroy` and `invoke --remote`."""
    group = parser.add_argument_group("AWS")
    group.add_argument("--region", metavar="R", help="AWS region (default: AWS_REGION or the profile's)")
    group.add_argument("--profile", type=cli_types.text, metavar="P", help="AWS profile from ~/.aws/config")
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every call to this AWS-compatible endpoint (moto, LocalStack)",
    )


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
    """The build options given, as `config.with_overrides` takes them (None: not given)."""
    return {
        "format": args.format,
        "architecture": args.arch,
        "runtime": args.runtime,
        "handler": args.lambda_handler,
        "python": args.python,
        "package": args.package,
        "bytecode": False if args.no_bytecode else None,
    }


_BASE_IMAGE_HELP = "the image to build on (default: public.ecr.aws/lambda/python:3.X[-arm64] for the runtime)"


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    """`build --format image`: where the image goes (--push, --output) and what it is built on."""
    group = parser.add_argument_group("image options (--format image)")
    # No `text` type here: an empty --push is refused with its own message (image_target).
    group.add_argument(
        "--push",
        metavar="REF",
        help="push the image to REGISTRY/REPOSITORY[:TAG] (default: image-repository, if configured)",
    )
    group.add_argument(
        "--output",
        metavar="oci-layout:DIR|docker-archive:FILE",
        help="write the image to a folder or a tar for `docker load` (default without a push: "
        "oci-layout:dist/lambda/<function>/image)",
    )
    group.add_argument("--base-image", metavar="REF", help=_BASE_IMAGE_HELP)


def add_deploy_image_arguments(parser: argparse.ArgumentParser) -> None:
    """`deploy --format image`: the repository the image is pushed to, and its base."""
    group = parser.add_argument_group("image options (--format image)")
    group.add_argument(
        "--image-repository",
        type=cli_types.text,
        metavar="REGISTRY/REPO[:TAG]",
        help="push the image here (default: image-repository, else an ECR repository named after the function)",
    )
    group.add_argument("--base-image", type=cli_types.text, metavar="REF", help=_BASE_IMAGE_HELP)


def add_plan_arguments(parser: argparse.ArgumentParser, *, plan: str, yes: str) -> None:
    """--plan (show, change nothing) and --yes (apply without asking): `deploy`, `destroy`."""
    parser.add_argument("--plan", action="store_true", help=plan)
    parser.add_argument("-y", "--yes", action="store_true", help=yes)


def ask(question: str, hidden_plan: str | None) -> bool | None:
    """The answer to `question` from a terminal; None when there is none (CI) to ask.

    Asked on stderr (stdout may be carrying --json); `hidden_plan`, the plan that -q or
    --json kept off the screen, is shown first: nobody says yes to an unseen plan.
    """
    if not sys.stdin.isatty():
        return None
    if hidden_plan is not None:
        print(hidden_plan, file=sys.stderr)
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """What and how to run locally: `invoke` and `serve`."""
    p.add_argument(
        "--artifact",
        type=Path,
        metavar="PATH",
        help="run this build folder or zip instead of building the project",
    )
    p.add_argument(
        "--image",
        metavar="REF",
        help="run this container image (REGISTRY/REPO:TAG or @sha256:...) instead of building the project",
    )
    p.add_argument(
        "--layer",
        type=Path,
        action="append",
        default=[],
        metavar="ZIP",
        help="an extra layer zip, unpacked into /opt after the built layer (repeatable)",
    )
    p.add_argument("--handler", dest="handler_name", metavar="MODULE.FUNCTION", help="override the handler")
    p.add_argument("--runtime", metavar="python3.X", help="the runtime of an artifact without metadata")
    p.add_argument(
        "--timeout", type=int, metavar="SECONDS", help="override the timeout ({}-{})".format(*TIMEOUT_SECONDS)
    )
    p.add_argument("--memory", type=int, metavar="MB", help="override the memory size ({}-{})".format(*MEMORY_MB))
    p.add_argument("--python", metavar="PATH", help="the interpreter to run (default: found by uv)")
    p.add_argument(
        "--no-boto3",
        action="store_true",
        help="leave boto3 out of the runtime folder (Lambda's runtime ships it)",
    )
    p.add_argument(
        "--no-credentials",
        action="store_true",
        help="do not pass your AWS credentials to the function",
    )
    p.add_argument(
        "--sandbox",
        choices=("auto", "require", "off"),
        default=None,
        help="run each execution environment in a bubblewrap sandbox laid out as Lambda's (/var/task, "
        "/opt, /var/runtime, /var/lang read-only, a private /tmp): auto uses it where bwrap works, "
        "require fails without it, off runs on this machine's file system "
        "(default: $UV_LAMBDA_SANDBOX, else auto)",
    )
