"""`uv-lambda event`: print a realistic event document to feed `invoke`."""

from __future__ import annotations

import argparse
import json
from urllib.parse import quote, urlsplit

from uv_lambda.cli._common import HelpFormatter
from uv_lambda.errors import UsageError
from uv_lambda.ui import Reporter, result

ORDER = 35

DESCRIPTION = """\
Print a Lambda event of TYPE, shaped as AWS documents it, on stdout.

HTTP types: apigw-v1 (REST API), apigw-v2 (HTTP API), function-url, alb.
Others: s3-put, sqs, sns, eventbridge, schedule.

examples:
  uv-lambda event apigw-v2 --method POST --path /items --body '{"id": 1}' > event.json
  uv-lambda event alb --path /search --query q=lambda --header accept:text/html
  uv-lambda event s3-put --bucket my-bucket --key uploads/photo.jpg
  uv-lambda event sqs --body 'hello' | uv-lambda invoke --event -"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    from uv_lambda.emulator.event_types import EVENT_TYPES

    p = subparsers.add_parser(
        "event",
        parents=[common],
        help="print a sample event (API Gateway, ALB, S3, SQS, ...)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("type", choices=EVENT_TYPES, metavar="TYPE", help=", ".join(EVENT_TYPES))
    p.add_argument("--method", default="GET", help="HTTP method (default GET)")
    p.add_argument("--path", default="/", help="request path; may carry ?query (default /)")
    p.add_argument("--body", default=None, help="request body; message body for sqs/sns; JSON detail for eventbridge")
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="a request header (repeatable)")
    p.add_argument("--query", action="append", default=[], metavar="NAME=VALUE", help="a query parameter (repeatable)")
    p.add_argument("--multi-value", action="store_true", help="alb: multi-value headers and query strings")
    p.add_argument("--bucket", default="example-bucket", help="s3-put: bucket name")
    p.add_argument("--key", default="test/key", help="s3-put: object key")
    p.set_defaults(handler=run)


def _headers(values: list[str]) -> tuple[tuple[str, str], ...]:
    headers = []
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"--header {value!r} is not NAME:VALUE", "e.g. --header content-type:application/json")
        headers.append((name.strip(), content.strip()))
    return tuple(headers)


def _query(path_query: str, values: list[str]) -> str:
    parts = [path_query] if path_query else []
    for value in values:
        name, sep, content = value.partition("=")
        if not sep or not name:
            raise UsageError(f"--query {value!r} is not NAME=VALUE", "e.g. --query page=2")
        parts.append(f"{quote(name)}={quote(content)}")
    return "&".join(parts)


def build_event(args: argparse.Namespace) -> dict[str, object]:
    from uv_lambda.emulator import events

    if args.type in events.HTTP_FORMATS:
        if not args.path.startswith("/"):
            raise UsageError(f"--path {args.path!r} must start with /", "e.g. --path /items/1")
        split = urlsplit(args.path)
        headers = _headers(args.header)
        body = (args.body or "").encode()
        if body and not any(name.lower() == "content-type" for name, _ in headers):
            headers += (("content-type", "application/json" if _is_json(args.body) else "text/plain"),)
        request = events.HttpRequest(
            method=args.method.upper(),
            path=split.path,
            raw_query=_query(split.query, args.query),
            headers=(("host", "localhost"), ("user-agent", "uv-lambda"), *headers),
            body=body,
        )
        if args.type == "alb":
            return events.alb(request, multi_value=args.multi_value)
        return events.HTTP_EVENT_BUILDERS[args.type](request)
    if args.type == "s3-put":
        return events.s3_put(args.bucket, args.key)
    if args.type == "sqs":
        return events.sqs(args.body if args.body is not None else "Hello from SQS!")
    if args.type == "sns":
        return events.sns(args.body if args.body is not None else "Hello from SNS!")
    if args.type == "eventbridge":
        detail = {}
        if args.body is not None:
            try:
                detail = json.loads(args.body)
            except ValueError:
                raise UsageError("--body must be a JSON object for eventbridge", "e.g. --body '{\"id\": 1}'") from None
            if not isinstance(detail, dict):
                raise UsageError("--body must be a JSON object for eventbridge", "e.g. --body '{\"id\": 1}'")
        return events.eventbridge(detail)
    return events.schedule()


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    result(json.dumps(build_event(args), indent=2))
    return 0
