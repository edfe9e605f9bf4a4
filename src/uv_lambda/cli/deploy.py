"""`uv-lambda deploy`: build if needed, plan with read-only calls, show the plan, apply it."""

from __future__ import annotations

import argparse
import sys

from uv_lambda.cli import _parser as cli_types
from uv_lambda.cli._common import (
    HelpFormatter,
    add_project_arguments,
    default_out_dir,
    select_functions,
)
from uv_lambda.errors import ExitCode, UsageError, UvLambdaError
from uv_lambda.ui import Reporter, result

ORDER = 40

DESCRIPTION = """\
Create or update the function in AWS Lambda. The build runs first (incremental: quick when
nothing changed); then deploy reads the current state with read-only calls, prints a plan
(+ create / ~ update / - delete / = no change, with the reason and, for code, its size and
hash; warnings above it for whatever it adopts or deletes) and applies only what differs: a code upload
only when CodeSha256 differs, a layer version only when no version holds the same content,
a configuration update with only the fields that changed. Running it again is always safe.

With format = "image" (or --format image) the image is built without a Docker daemon and
pushed to `image-repository` (--image-repository), or to an ECR repository named after the
function (created when missing); the function runs it by digest (PackageType=Image). Only the
layers the registry lacks are uploaded, and nothing when the deployed digest is the same.

deploy changes only functions (and roles) carrying uv-lambda's owner tag for this function;
--adopt takes over one made another way, and the plan says so. Off a terminal, deploy
applies a plan with changes only with --yes.

Credentials and region come from boto3's usual chain (AWS_PROFILE, `aws configure`,
`aws sso login`, environment variables) or --profile / --region.

examples:
  uv-lambda deploy                         # build, show the plan, confirm, apply
  uv-lambda deploy --plan                  # show the plan; no write call is made
  uv-lambda deploy --plan --detailed-exitcode   # exit 0: nothing to do, 2: changes, 1: error
  uv-lambda deploy --yes --json            # for CI: no prompt, JSON on stdout
  uv-lambda deploy --alias live            # publish a version and point `live` at it
  uv-lambda deploy --env LOG_LEVEL=debug --region eu-west-1
  uv-lambda deploy --format image          # container image, pushed to ECR
  uv-lambda deploy --endpoint-url http://127.0.0.1:5000   # moto, LocalStack"""


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS")
    group.add_argument("--region", metavar="R", help="AWS region (default: AWS_REGION or the profile's)")
    group.add_argument("--profile", type=cli_types.text, metavar="P", help="AWS profile from ~/.aws/config")
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every call to this AWS-compatible endpoint (moto, LocalStack)",
    )


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key, value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    from uv_lambda.cli.build import add_build_arguments

    parser = subparsers.add_parser(
        "deploy",
        parents=[common],
        help="create or update the function in AWS (plan first, change only what differs)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_project_arguments(parser)
    parser.add_argument("--plan", action="store_true", help="print the plan and exit without changing anything")
    parser.add_argument(
        "-y", "--yes", action="store_true", help="apply without asking (required off a terminal when there are changes)"
    )
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="with --plan: exit 0 when there is nothing to do, 2 when there are changes, 1 on error",
    )
    parser.add_argument(
        "--adopt",
        action="store_true",
        help="take over a function or role of this name that uv-lambda did not create (shown in the plan)",
    )
    parser.add_argument("--json", action="store_true", help="print plans and results as one JSON document")
    parser.add_argument(
        "--env",
        action="append",
        type=_env_pair,
        default=[],
        metavar="K=V",
        help="set an environment variable",
    )
    parser.add_argument("--publish", action="store_true", help="publish a version when code or config changed")
    parser.add_argument(
        "--alias",
        metavar="NAME",
        help="point this alias at the published version (implies --publish)",
    )
    parser.add_argument(
        "--prune-layers",
        type=int,
        metavar="N",
        help="delete all but the newest N layer versions uv-lambda published",
    )
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="deploy the artifacts already in dist/lambda/<function>/ as they are",
    )
    add_aws_arguments(parser)
    add_build_arguments(parser)
    image = parser.add_argument_group("image options (--format image)")
    image.add_argument(
        "--image-repository",
        type=cli_types.text,
        metavar="REGISTRY/REPO[:TAG]",
        help="push the image here (default: image-repository, else an ECR repository named after the function)",
    )
    image.add_argument(
        "--base-image",
        type=cli_types.text,
        metavar="REF",
        help="the image to build on (default: public.ecr.aws/lambda/python:3.X[-arm64] for the runtime)",
    )
    parser.set_defaults(handler=run)


def confirm(question: str) -> bool:
    """Ask on stderr and read the answer from a terminal (stdout may be carrying --json)."""
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    if not args.detailed_exitcode:
        return _run(args, reporter)
    if not args.plan:
        raise UsageError(
            "--detailed-exitcode needs --plan", "add --plan: the exit code then says whether anything changes"
        )
    try:
        return _run(args, reporter)
    except UvLambdaError as exc:
        # 2 means "changes" here, so every error, bad input included, is 1 (as terraform does).
        if exc.exit_code != ExitCode.INTERRUPTED:
            exc.exit_code = ExitCode.FAILURE
        raise


def _run(args: argparse.Namespace, reporter: Reporter) -> int:
    from uv_lambda.artifact import read_build
    from uv_lambda.cli.build import overrides
    from uv_lambda.config import with_overrides
    from uv_lambda.deploy import render
    from uv_lambda.deploy.aws import connect
    from uv_lambda.deploy.desired import DeployOptions, desired_function, desired_image_function
    from uv_lambda.deploy.endpoint import check_endpoint_url, check_region
    from uv_lambda.deploy.executor import execute
    from uv_lambda.deploy.images import LAYOUT_FOLDER, build_image_artifact, read_layout
    from uv_lambda.deploy.models import AppliedPlan, Plan
    from uv_lambda.deploy.names import check_layer_regions
    from uv_lambda.deploy.planner import plan_deploy
    from uv_lambda.model import Format

    if args.prune_layers is not None and args.prune_layers < 1:
        raise UsageError("--prune-layers must be 1 or more", "it is the number of layer versions to keep")
    check_endpoint_url(args.endpoint_url)  # before the build: a typo should not cost one
    check_region(args.region)
    people = Reporter(quiet=True) if args.json else reporter
    project, functions = select_functions(args)
    options = DeployOptions(
        environment=dict(args.env),
        publish=args.publish,
        alias=args.alias,
        prune_layers=args.prune_layers,
        image_repository=args.image_repository,
        adopt=args.adopt,
    )
    # Every local step (build, checks) runs for every function before the first AWS call.
    wanted = []
    for base in functions:
        config = with_overrides(base, **overrides(args))
        out_dir = default_out_dir(project, config.name)
        if config.format is Format.IMAGE:
            if args.no_build:
                image = read_layout(out_dir / LAYOUT_FOLDER)
            else:
                people.info(f"building {config.name} (image)")
                image = build_image_artifact(
                    project,
                    config,
                    out_dir=out_dir,
                    reporter=people,
                    base_image=args.base_image,
                    image_repository=args.image_repository or config.image_repository,
                    lock=args.lock,
                )
            wanted.append(desired_image_function(config, image, options))
            continue
        if args.image_repository or args.base_image:
            raise UsageError("--image-repository and --base-image apply to image functions", "add --format image")
        if args.no_build:
            build = read_build(out_dir)
        else:
            from uv_lambda.cli._shared_build import build_into

            people.info(f"building {config.name} ({config.format})")
            build = build_into(
                project, base, out_dir, people, overrides=overrides(args), lock=args.lock, full=args.verbose
            ).build
        wanted.append(desired_function(config, build, options))

    aws = connect(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)
    for desired in wanted:  # the region is known now; still before any AWS call
        check_layer_regions(desired.extra_layers, aws.region, desired.name)
    results: list[tuple[Plan, AppliedPlan | None]] = []
    changes = 0
    for desired in wanted:
        with people.step(f"reading the state of {desired.name}"):
            plan = plan_deploy(desired, aws)
        people.info(render.plan_table(plan))
        changes += len(plan.changes)
        if args.plan and plan.changes:
            people.info("(--plan: nothing was changed)")
        outcome = None
        if not args.plan:
            if plan.changes and not args.yes:
                # Off a terminal (CI) there is nobody to ask: only --yes applies a plan there.
                if not sys.stdin.isatty():
                    raise UsageError(
                        f"deploy of {desired.name} has {len(plan.changes)} change(s) and nobody to confirm them "
                        "(not a terminal); nothing was changed",
                        "pass --yes to apply without a prompt, or --plan to only show the plan",
                    )
                if people.quiet:  # -q / --json hid the plan: nobody says yes to an unseen plan
                    print(render.plan_table(plan), file=sys.stderr)
                if not confirm(f"apply to {desired.name}?"):
                    raise UsageError(
                        f"deploy of {desired.name} cancelled; nothing was changed", "pass --yes to skip the question"
                    )
            outcome = execute(plan, aws, people, alias=desired.alias)
            people.info(render.outcome_text(outcome, "deploy"))
        results.append((plan, outcome))
    if args.json:
        result(render.json_document(results))
    if args.detailed_exitcode and changes:
        return int(ExitCode.USAGE)  # 2: there are changes (see --detailed-exitcode)
    return 0
