"""`uv-lambda serve`: the built function behind a local HTTP endpoint and the Invoke API."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import TYPE_CHECKING

from uv_lambda.cli import options
from uv_lambda.cli._common import HelpFormatter, add_project_arguments, announce_sandbox, open_function
from uv_lambda.config import FunctionConfig
from uv_lambda.emulator.event_types import HTTP_FORMATS
from uv_lambda.ui import Reporter

if TYPE_CHECKING:
    from uv_lambda.emulator.function import LocalFunction
    from uv_lambda.emulator.hot_swap import SwappableFunction
    from uv_lambda.emulator.pool import ResultCallback
    from uv_lambda.emulator.watch import Watcher

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
    from uv_lambda.emulator.environment import InvocationResult
    from uv_lambda.emulator.hot_swap import SwappableFunction
    from uv_lambda.emulator.http_server import LambdaHttpServer, ServerOptions
    from uv_lambda.errors import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port number", "use 1 to 65535, or 0 for any free port")

    def report(result: InvocationResult) -> None:
        if not reporter.quiet:
            sys.stderr.write(result.log)
            sys.stderr.flush()

    if args.watch and (args.artifact is not None or args.image is not None):
        flag = "an --artifact" if args.artifact is not None else "an --image"
        raise UsageError(f"--watch rebuilds the project: it cannot watch {flag}", "drop one of them")
    function = SwappableFunction(open_function(args, reporter, concurrency=args.concurrency))
    name = function.current.spec.name
    # Without --watch nothing is ever swapped: events skip the swap's bookkeeping.
    runner: SwappableFunction | LocalFunction = function if args.watch else function.current

    def submit(payload: bytes, client_context: str | None, on_done: ResultCallback) -> None:
        # Both callers (the Invoke API and the gateway) hand over JSON they checked or made.
        runner.submit(payload, on_done, client_context=client_context, checked=True)

    try:
        server = LambdaHttpServer(
            args.port,
            name,
            submit,
            options=ServerOptions(event_format=args.event_format, alb_multi_value=args.alb_multi_value),
            report=report,
        )
    except BaseException:
        function.close()
        raise

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the server as Ctrl-C does: environments cleaned up

    signal.signal(signal.SIGTERM, stop)
    watcher: Watcher | None = None
    try:
        # The server, the environments and their Runtime APIs all run on the event loop's
        # thread; this one only waits for Ctrl-C or SIGTERM.
        server.start()
        url = f"http://127.0.0.1:{server.port}"
        # Always printed (also with -q): scripts and tests read the port from it.
        print(f"serving {name} on {url} ({args.event_format} events)", file=sys.stderr, flush=True)
        reporter.info(f"Invoke API: POST {url}/2015-03-31/functions/{name}/invocations")
        announce_sandbox(function.current, reporter)
        watcher = _start_watching(args, reporter, function) if args.watch else None
        while True:
            signal.pause()
    except KeyboardInterrupt:
        reporter.info("stopping")
    finally:
        if watcher is not None:
            watcher.stop()
        server.close()
        function.close()
    return 0


def _start_watching(args: argparse.Namespace, reporter: Reporter, function: SwappableFunction) -> Watcher:
    from uv_lambda.emulator.early_start import EarlyStart
    from uv_lambda.emulator.watch import Watcher
    from uv_lambda.errors import UvLambdaError
    from uv_lambda.project import load_project

    project = load_project(args.path)
    noticed: list[EarlyStart] = []

    def notice() -> None:
        # The next environment starts as soon as a change is seen, while the edit settles
        # and the rebuild runs, and waits for its tree before it imports the handler
        # (emulator/early_start.py).
        noticed.append(EarlyStart.replacing(function.current))

    def rebuild() -> None:
        reporter.info("sources changed: rebuilding")
        started = time.monotonic()
        early = noticed.pop() if noticed else EarlyStart.replacing(function.current)
        for stale in noticed:
            stale.cancel()
        noticed.clear()
        try:
            replacement = open_function(args, reporter, concurrency=args.concurrency, early=early)
        except UvLambdaError as exc:  # keep serving the last good build
            early.cancel()
            reporter.warn(f"rebuild failed, still serving the previous build: {exc.message}")
            return
        except BaseException:
            early.cancel()
            raise
        rebuilt = time.monotonic()
        # Pre-warm: the new environment's init starts now (or goes on, started early), so the
        # first request after the edit does not pay for it; requests arriving before it is
        # over wait for it.
        ready = replacement.prewarm(early)
        function.swap(replacement)
        reporter.info(f"serving the new build (rebuilt in {rebuilt - started:.2f} s; its init is starting)")

        def report_ready(_: object) -> None:
            how = ", started during the rebuild" if early.adopted else ""
            reporter.info(f"the new build is warm ({time.monotonic() - rebuilt:.2f} s of init{how})")

        ready.add_done_callback(report_ready)

    watcher = Watcher(project.workspace_root, rebuild, on_notice=notice)
    watcher.start()
    return watcher
