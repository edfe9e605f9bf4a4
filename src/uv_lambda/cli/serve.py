"""`uv-lambda serve`: the built function behind a local HTTP endpoint and the Invoke API."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from uv_lambda.cli import options
from uv_lambda.cli._common import (
    HelpFormatter,
    add_project_arguments,
    announce_sandbox,
    local_request,
    select_function,
)
from uv_lambda.config import FunctionConfig
from uv_lambda.emulator.event_types import HTTP_FORMATS
from uv_lambda.ui import Reporter

if TYPE_CHECKING:
    from uv_lambda.emulator.environment import InvocationResult
    from uv_lambda.emulator.function import LocalFunction

ORDER = 31

DESCRIPTION = """\
Serve the built function on http://127.0.0.1:PORT, run as Lambda runs it (see `invoke`).

Each HTTP request becomes an event of --event-format (API Gateway REST = apigw-v1,
HTTP API = apigw-v2, function-url, alb) and the function's response becomes the HTTP
response. The same port answers the Lambda Invoke API, so the AWS CLI and boto3 work
with --endpoint-url / endpoint_url. Up to --concurrency environments run at once.

examples:
  uv-lambda serve                                  # http://127.0.0.1:8000
  curl http://127.0.0.1:8000/items?page=2
  aws lambda invoke --endpoint-url http://127.0.0.1:8000 --function-name NAME \\
      --payload file://event.json --cli-binary-format raw-in-base64-out out.json
  uv-lambda serve --event-format alb --port 9000 --concurrency 2
  uv-lambda serve --image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:latest"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "serve",
        parents=[common],
        help="serve the function over HTTP and the Lambda Invoke API",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_project_arguments(p, allow_all=False)
    options.add_run_arguments(p)
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0 picks a free one)")
    p.add_argument(
        "--event-format",
        choices=HTTP_FORMATS,
        default="apigw-v2",
        help="the event HTTP requests become (default apigw-v2)",
    )
    p.add_argument("--alb-multi-value", action="store_true", help="alb: multi-value headers enabled")
    p.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help=f"execution environments (default: configured, {FunctionConfig.concurrency})",
    )
    p.add_argument(
        "--watch",
        action="store_true",
        help="rebuild when sources change, start the new build's first environment at once (its init runs "
        "before any request), and swap it in (requests in flight finish on the old one)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    from uv_lambda.app.serve import ServeEvents, ServeRequest, serve
    from uv_lambda.errors import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port number", "use 1 to 65535, or 0 for any free port")
    if args.watch and (args.artifact is not None or args.image is not None):
        flag = "an --artifact" if args.artifact is not None else "an --image"
        raise UsageError(f"--watch rebuilds the project: it cannot watch {flag}", "drop one of them")
    local, run_options = local_request(args, concurrency=args.concurrency)
    request = ServeRequest(
        local,
        run_options,
        port=args.port,
        event_format=args.event_format,
        alb_multi_value=args.alb_multi_value,
        watch=args.watch,
        path=args.path,
    )

    def started(function: LocalFunction, url: str) -> None:
        name = function.spec.name
        # Always printed (also with -q): scripts and tests read the port from it.
        print(f"serving {name} on {url} ({args.event_format} events)", file=sys.stderr, flush=True)
        reporter.info(f"Invoke API: POST {url}/2015-03-31/functions/{name}/invocations")
        announce_sandbox(function, reporter)

    def report(result: InvocationResult) -> None:
        if not reporter.quiet:
            sys.stderr.write(result.log)
            sys.stderr.flush()

    serve(request, reporter, ServeEvents(started=started, result=report), lambda: select_function(args))
    return 0
