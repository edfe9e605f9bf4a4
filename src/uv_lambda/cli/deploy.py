"""`uv-lambda deploy`: build if needed, plan with read-only calls, show the plan, apply it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from uv_lambda.cli import options
from uv_lambda.cli._common import HelpFormatter, add_project_arguments, render_results, select_functions
from uv_lambda.errors import ExitCode, UsageError, UvLambdaError
from uv_lambda.ui import Reporter

if TYPE_CHECKING:
    from uv_lambda.app.deploy import DeployRequest

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


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key, value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "deploy",
        parents=[common],
        help="create or update the function in AWS (plan first, change only what differs)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_project_arguments(parser)
    options.add_plan_arguments(
        parser,
        plan="print the plan and exit without changing anything",
        yes="apply without asking (required off a terminal when there are changes)",
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
    options.add_aws_arguments(parser)
    options.add_build_arguments(parser)
    options.add_deploy_image_arguments(parser)
    parser.set_defaults(handler=run)


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
    from uv_lambda.app.deploy import deploy

    request = _request(args)
    project, functions = select_functions(args)
    results = deploy(project, functions, request, Reporter(quiet=True) if args.json else reporter)
    return render_results(results, as_json=args.json, detailed_exitcode=args.detailed_exitcode)


def _request(args: argparse.Namespace) -> DeployRequest:
    """The deploy the flags describe."""
    from uv_lambda.app.build import BuildOptions
    from uv_lambda.app.deploy import Approval, AwsAccess, DeployRequest
    from uv_lambda.deploy.desired import DeployOptions

    return DeployRequest(
        # Checked in this order, before the build: a typo should not cost one.
        options=DeployOptions(
            environment=dict(args.env),
            publish=args.publish,
            alias=args.alias,
            prune_layers=args.prune_layers,
            image_repository=args.image_repository,
            adopt=args.adopt,
        ),
        aws=AwsAccess(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url),
        approval=Approval(options.ask, plan_only=args.plan, yes=args.yes),
        build=BuildOptions(overrides=options.overrides(args), lock=args.lock, full=args.verbose),
        no_build=args.no_build,
        base_image=args.base_image,
    )
