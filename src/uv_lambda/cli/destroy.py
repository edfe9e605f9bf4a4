"""`uv-lambda destroy`: remove what deploy created, after showing the plan."""

from __future__ import annotations

import argparse
import sys

from uv_lambda.cli._common import HelpFormatter, add_project_arguments, select_functions
from uv_lambda.errors import UsageError
from uv_lambda.ui import Reporter, result

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
    from uv_lambda.cli.deploy import add_aws_arguments

    parser = subparsers.add_parser(
        "destroy",
        parents=[common],
        help="remove the deployed function, its layers, URL, alias and role",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_project_arguments(parser)
    parser.add_argument("--plan", action="store_true", help="print what would be removed and exit")
    parser.add_argument("-y", "--yes", action="store_true", help="remove without asking")
    parser.add_argument("--json", action="store_true", help="print plans and results as one JSON document")
    add_aws_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    from uv_lambda.cli.deploy import confirm
    from uv_lambda.deploy import render
    from uv_lambda.deploy.aws import connect
    from uv_lambda.deploy.endpoint import check_endpoint_url, check_region
    from uv_lambda.deploy.executor import execute
    from uv_lambda.deploy.models import AppliedPlan, Plan
    from uv_lambda.deploy.names import check_function_name
    from uv_lambda.deploy.teardown import plan_destroy
    from uv_lambda.model import Format

    check_endpoint_url(args.endpoint_url)
    check_region(args.region)
    people = Reporter(quiet=True) if args.json else reporter
    _, functions = select_functions(args)
    aws = connect(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)
    results: list[tuple[Plan, AppliedPlan | None]] = []
    for config in functions:  # a name Lambda cannot hold has nothing to destroy: say why
        check_function_name(
            config.aws_name if config.function_name is None else config.function_name,
            configured=config.function_name is not None,
        )
    for config in functions:
        plan = plan_destroy(
            config.aws_name,
            aws,
            configured_role=config.role,
            image=config.format is Format.IMAGE,
            image_repository=config.image_repository,
        )
        people.info(render.plan_table(plan))
        outcome = None
        if not args.plan and plan.changes:
            if not args.yes:
                if not sys.stdin.isatty():
                    raise UsageError(
                        f"destroying {config.aws_name} needs confirmation",
                        "pass --yes to remove it without a prompt",
                    )
                if people.quiet:  # -q / --json hid the plan: nobody says yes to an unseen plan
                    print(render.plan_table(plan), file=sys.stderr)
                if not confirm(f"remove {len(plan.changes)} resource(s) of {config.aws_name}?"):
                    raise UsageError("destroy cancelled; nothing was removed", "pass --yes to skip the question")
            outcome = execute(plan, aws, people)
            people.info(render.outcome_text(outcome, "destroy"))
        results.append((plan, outcome))
    if args.json:
        result(render.json_document(results))
    return 0
