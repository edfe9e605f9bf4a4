"""`uv-lambda invoke`: run the built function once, locally, as Lambda runs it."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from uv_lambda.cli import options
from uv_lambda.cli._common import HelpFormatter, add_project_arguments, announce_sandbox, open_function
from uv_lambda.errors import ExitCode, UsageError
from uv_lambda.ui import Reporter

ORDER = 30

DESCRIPTION = """\
Run the function once, locally, the way AWS Lambda runs it: the built artifact unpacked
as /var/task (and its layers as /opt), driven by the real awslambdaric in a python3.X
process. Builds first when the sources changed (unless --artifact is given), into
dist/lambda/<fn>/ with the same build record as `build` and `deploy`, so an edit rebuilds
only the application; when that folder holds a build with other settings (`build --arch
arm64`), a local copy is built in the cache instead and the folder is left alone.

stdout gets exactly what `aws lambda invoke` writes to its output file (the function's
result, or Lambda's error JSON); stderr gets the function's log with START/END/REPORT.
Exit code 0 on success, 1 on a function error.

--image REF runs a pushed container image the same way (its /var/task and /opt, its Cmd as
the handler, its Env). --remote invokes the deployed function instead, with the same output.

examples:
  uv-lambda invoke --event event.json
  echo '{"name": "x"}' | uv-lambda invoke --event -
  uv-lambda invoke --artifact dist/lambda/api --layer extra-layer.zip
  uv-lambda invoke --artifact code.zip --handler app.handler --runtime python3.13
  uv-lambda invoke --image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:latest
  uv-lambda invoke --remote --event event.json --region eu-west-1"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "invoke",
        parents=[common],
        help="run the built function locally with an event",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_project_arguments(p, allow_all=False)
    options.add_run_arguments(p)
    p.add_argument("-e", "--event", metavar="FILE", help="the event: a JSON file, or - for stdin (default: {})")
    p.add_argument(
        "--remote",
        action="store_true",
        help="invoke the deployed function on AWS (its alias, when configured) instead of running it here",
    )
    options.add_aws_arguments(p)
    p.set_defaults(handler=run)


def read_event(source: str | None) -> bytes:
    """The event's bytes: read up to one byte over Lambda's payload limit, so a huge file or
    stream is refused without being read whole (check_payload says by how much)."""
    from uv_lambda.limits import MAX_SYNC_PAYLOAD

    if source is None:
        return b"{}"
    limit = MAX_SYNC_PAYLOAD + 1
    if source == "-":
        data = sys.stdin.buffer.read(limit)
    else:
        path = Path(source)
        if path.is_dir():
            raise UsageError(f"event file {source} is a folder", "pass a JSON file, or - to read stdin")
        if not path.exists():
            raise UsageError(f"event file {source} does not exist", "pass a JSON file, or - to read stdin")
        try:
            size = path.stat().st_size if path.is_file() else 0  # pipes (`<(...)`) have no size
            if size > limit:
                raise UsageError(
                    f"the event file {source} is {size:,} bytes, over Lambda's limit of {MAX_SYNC_PAYLOAD:,} bytes",
                    "send a smaller event (large data belongs in S3, passed by reference)",
                )
            with path.open("rb") as handle:
                data = handle.read(limit)
        except OSError as exc:
            raise UsageError(f"cannot read event file {source}: {exc.strerror}", "check its permissions") from None
    if len(data) >= limit:
        where = "stdin" if source == "-" else source
        raise UsageError(
            f"the event from {where} is over Lambda's limit of {MAX_SYNC_PAYLOAD:,} bytes",
            "send a smaller event (large data belongs in S3, passed by reference)",
        )
    # An empty payload is an empty event, as for `aws lambda invoke` without --payload.
    return data if data.strip() else b"{}"


# Flags that only mean something for a run on this machine (dest, flag).
_LOCAL_ONLY = (
    ("artifact", "--artifact"),
    ("layer", "--layer"),
    ("image", "--image"),
    ("handler_name", "--handler"),
    ("runtime", "--runtime"),
    ("timeout", "--timeout"),
    ("memory", "--memory"),
    ("python", "--python"),
    ("no_boto3", "--no-boto3"),
    ("no_credentials", "--no-credentials"),
    ("sandbox", "--sandbox"),
)
_AWS_ONLY = (("region", "--region"), ("profile", "--profile"), ("endpoint_url", "--endpoint-url"))


def check_target_flags(args: argparse.Namespace) -> None:
    """Refuse flags that do not apply to where the function runs (here, or on AWS with --remote)."""
    if args.remote:
        for dest, flag in _LOCAL_ONLY:
            if getattr(args, dest):
                raise UsageError(
                    f"--remote invokes the deployed function: {flag} only applies to a local run",
                    f"drop {flag}, or drop --remote to run it here",
                )
        return
    for dest, flag in _AWS_ONLY:
        if getattr(args, dest):
            raise UsageError(f"{flag} only applies with --remote", f"add --remote, or drop {flag}")


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    check_target_flags(args)
    payload = read_event(args.event)
    if args.remote:
        return _invoke_remotely(args, payload, reporter)
    return _invoke_locally(args, payload, reporter)


def _invoke_remotely(args: argparse.Namespace, payload: bytes, reporter: Reporter) -> int:
    from uv_lambda.app.deploy import AwsAccess
    from uv_lambda.app.remote import invoke_deployed
    from uv_lambda.cli._common import select_function

    aws = AwsAccess(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)
    result = invoke_deployed(payload, aws, reporter, lambda: select_function(args))
    return print_result(result.body, result.log, result.failure)


def _invoke_locally(args: argparse.Namespace, payload: bytes, reporter: Reporter) -> int:
    from uv_lambda.emulator.function import check_payload

    check_payload(payload)
    from uv_lambda.app.local import finish_local_run

    try:
        with open_function(args, reporter, concurrency=1, one_shot=True) as function:
            announce_sandbox(function, reporter)
            result = function.invoke(payload)
    except BaseException:
        finish_local_run()  # the record of a rebuild that ran is still written
        raise
    failure = (result.error_type or "an error") if result.function_error else None
    code = print_result(result.payload, result.log, failure)
    # The build record and the unpack cache's tidying are done while the function runs:
    # let them finish.
    for warning in finish_local_run():
        reporter.warn(warning)
    # The process ends next. Its final garbage collection would walk every object of every
    # module loaded (~10 ms of an invoke's exit); frozen objects are skipped. Safe here, as
    # for the app-only rebuild (cli/_rebuild.py): the function's environment is stopped, its
    # files closed and the background work joined above.
    gc.freeze()
    return code


def print_result(payload: bytes, log: str, function_error: str | None) -> int:
    """The output contract of `invoke`: the log on stderr; on stdout exactly what `aws lambda
    invoke` writes to its output file; exit 1 (and one `error:` line) on a function error."""
    sys.stderr.write(log)
    sys.stderr.flush()
    sys.stdout.buffer.write(payload)
    if sys.stdout.isatty():
        sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()
    if function_error is not None:
        # One line that says what failed, after the log; Lambda's error JSON is on stdout.
        sys.stderr.write(f"error: the function failed with {function_error}\n")
        return int(ExitCode.FAILURE)
    return int(ExitCode.OK)
