"""`uv-lambda destroy`: remove what deploy created, after showing the plan."""

from __future__ import annotations

import argparse

from uv_lambda.cli import options
from uv_lambda.cli._common import HelpFormatter, add_project_arguments, render_results, select_functions
from uv_lambda.ui import Reporter

ORDER = 45

DESCRIPTION = """\
Remove the function (with its versions, aliases and Function URLs), the layer versions
uv-lambda published for it, and the execution role (its inline policies deleted and managed
ones detached first; kept, with a note, while another function uses it) and, for an image
function, the ECR repository with its images. Only what carries uv-lambda's owner tag for
this function is removed: a function or role made another way, a role set with
`role = "arn:..."` and S3 uploads are left alone. The plan is shown first; on a terminal you
are asked to confirm, elsewhere --yes is required.

examples:
  uv-lambda destroy                  # show what would go, ask, remove
  uv-lambda destroy --plan           # only show it
  uv-lambda destroy --function api --yes --region eu-west-1"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "destroy",
        parents=[common],
        help="remove the deployed function, its layers, URL, alias and role",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_project_arguments(parser)
    options.add_plan_arguments(parser, plan="print what would be removed and exit", yes="remove without asking")
    parser.add_argument("--json", action="store_true", help="print plans and results as one JSON document")
    options.add_aws_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    from uv_lambda.app.deploy import Approval, AwsAccess, destroy

    aws = AwsAccess(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)
    _, functions = select_functions(args)
    approval = Approval(options.ask, plan_only=args.plan, yes=args.yes)
    results = destroy(functions, aws, approval, Reporter(quiet=True) if args.json else reporter)
    return render_results(results, as_json=args.json)
