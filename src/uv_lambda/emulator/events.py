"""Realistic Lambda events, shaped as the AWS documentation shows them (pure functions).

The HTTP-shaped events (API Gateway REST and HTTP APIs, Function URLs, ALB) are built from
one `HttpRequest`, which is also what `serve` makes of each request it receives.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from uv_lambda.emulator import ids
from uv_lambda.emulator.event_types import EVENT_TYPES as EVENT_TYPES
from uv_lambda.emulator.event_types import HTTP_FORMATS as HTTP_FORMATS
from uv_lambda.emulator.event_types import OTHER_TYPES as OTHER_TYPES
from uv_lambda.limits import DEFAULT_REGION, LOCAL_ACCOUNT_ID

JsonDict = dict[str, Any]

_API_ID = "abcdef1234"
_URL_ID = "abcdefghijklmnopqrstuvwxyz012345"
# A path that quote() would return unchanged (most are): the check is 10x cheaper.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~-]*\Z")
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "+json",
    "+xml",
)


@dataclass(frozen=True)
class HttpRequest:
    method: str = "GET"
    path: str = "/"  # without the query string, percent-decoded
    raw_query: str = ""  # as sent, without the "?"
    headers: tuple[tuple[str, str], ...] = ()  # in order, names as sent, duplicates kept
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    request_id: str = field(default_factory=ids.request_id)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        """Decoded (name, value) pairs in order; a name without "=" has the value ""."""
        pairs = []
        for part in self.raw_query.split("&"):
            if not part:
                continue
            name, _, value = part.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value)))
        return pairs

    @property
    def raw_query_pairs(self) -> list[tuple[str, str]]:
        """Pairs as sent (ALB does not decode them)."""
        pairs = []
        for part in self.raw_query.split("&"):
            if part:
                name, _, value = part.partition("=")
                pairs.append((name, value))
        return pairs

    @property
    def cookies(self) -> list[str]:
        found: list[str] = []
        for key, value in self.headers:
            if key.lower() == "cookie":
                found.extend(c.strip() for c in value.split(";") if c.strip())
        return found


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return True
    lowered = content_type.lower()
    return any(marker in lowered for marker in _TEXT_TYPES)


def encode_body(body: bytes, content_type: str | None) -> tuple[str, bool]:
    """(body, isBase64Encoded): text stays text, anything else is base64, as the services do."""
    if is_text(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _single(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Last value wins: REST API and ALB single-value maps."""
    return {name: value for name, value in pairs}


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """HTTP API payload 2.0: duplicates joined with commas."""
    return {name: ",".join(values) for name, values in _multi(pairs).items()}


@functools.lru_cache(maxsize=4)
def _clf_second(now: datetime) -> str:
    return now.strftime("%d/%b/%Y:%H:%M:%S +0000")


def _clf_time(now: datetime) -> str:
    # strftime is the slowest part of an HTTP event, and `serve` needs it once per request
    # with a value that changes once a second.
    return _clf_second(now.replace(microsecond=0))


def _epoch_ms(now: datetime) -> int:
    return int(now.timestamp() * 1000)


def apigw_v1(request: HttpRequest, *, stage: str = "Prod") -> JsonDict:
    """API Gateway REST API, Lambda proxy integration (payload format 1.0)."""
    headers = list(request.headers)
    query = request.query_pairs
    body, encoded = encode_body(request.body, request.header("content-type"))
    proxy = request.path.lstrip("/")
    resource = "/{proxy+}" if proxy else "/"
    domain = f"{_API_ID}.execute-api.{DEFAULT_REGION}.amazonaws.com"
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": _single(headers) or None,
        "multiValueHeaders": _multi(headers) or None,
        "queryStringParameters": _single(query) or None,
        "multiValueQueryStringParameters": _multi(query) or None,
        "pathParameters": {"proxy": proxy} if proxy else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": _API_ID,
            "domainName": domain,
            "domainPrefix": _API_ID,
            "extendedRequestId": base64.b64encode(request.request_id.encode()[:12]).decode(),
            "httpMethod": request.method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": request.source_ip,
                "user": None,
                "userAgent": request.header("user-agent"),
                "userArn": None,
            },
            "path": f"/{stage}{request.path}",
            "protocol": request.protocol,
            "requestId": request.request_id,
            "requestTime": _clf_time(request.now),
            "requestTimeEpoch": _epoch_ms(request.now),
            "resourceId": "abc123",
            "resourcePath": resource,
            "stage": stage,
        },
        "body": body if request.body else None,
        "isBase64Encoded": encoded if request.body else False,
    }


def _payload_v2(request: HttpRequest, domain: str, api_id: str) -> JsonDict:
    headers = [(name.lower(), value) for name, value in request.headers if name.lower() != "cookie"]
    path = request.path
    event: JsonDict = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path if _PLAIN_PATH.match(path) else quote(path, safe="/~!$&'()*+,;=:@%"),
        "rawQueryString": request.raw_query,
    }
    cookies = request.cookies
    if cookies:
        event["cookies"] = cookies
    event["headers"] = _joined(headers)
    if request.raw_query:
        event["queryStringParameters"] = _joined(request.query_pairs)
    event["requestContext"] = {
        "accountId": LOCAL_ACCOUNT_ID if api_id == _API_ID else "anonymous",
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": api_id,
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent") or "",
        },
        "requestId": request.request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": _clf_time(request.now),
        "timeEpoch": _epoch_ms(request.now),
    }
    if request.body:
        event["body"], event["isBase64Encoded"] = encode_body(request.body, request.header("content-type"))
    else:
        event["isBase64Encoded"] = False
    return event


def apigw_v2(request: HttpRequest) -> JsonDict:
    """API Gateway HTTP API (payload format 2.0), default route and stage."""
    return _payload_v2(request, f"{_API_ID}.execute-api.{DEFAULT_REGION}.amazonaws.com", _API_ID)


def function_url(request: HttpRequest) -> JsonDict:
    """A Lambda Function URL request (payload 2.0 with routeKey and stage `$default`)."""
    return _payload_v2(request, f"{_URL_ID}.lambda-url.{DEFAULT_REGION}.on.aws", _URL_ID)


def alb(request: HttpRequest, *, multi_value: bool = False) -> JsonDict:
    """An Application Load Balancer target-group request (query strings not decoded)."""
    headers = [(name.lower(), value) for name, value in request.headers]
    query = request.raw_query_pairs
    body, encoded = encode_body(request.body, request.header("content-type"))
    event: JsonDict = {
        "requestContext": {
            "elb": {
                "targetGroupArn": (
                    f"arn:aws:elasticloadbalancing:{DEFAULT_REGION}:{LOCAL_ACCOUNT_ID}:"
                    "targetgroup/lambda-target/49e9d65c45c6791a"
                )
            }
        },
        "httpMethod": request.method,
        "path": request.path,
    }
    if multi_value:
        event["multiValueQueryStringParameters"] = _multi(query)
        event["multiValueHeaders"] = _multi(headers)
    else:
        event["queryStringParameters"] = _single(query)
        event["headers"] = _single(headers)
    event["body"] = body if request.body else ""
    event["isBase64Encoded"] = encoded if request.body else False
    return event


HTTP_EVENT_BUILDERS: dict[str, Callable[[HttpRequest], JsonDict]] = {
    "apigw-v1": apigw_v1,
    "apigw-v2": apigw_v2,
    "function-url": function_url,
    "alb": alb,
}


def _iso(now: datetime, millis: bool = True) -> str:
    text = now.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{now.microsecond // 1000:03d}Z" if millis else "Z")


def s3_put(
    bucket: str = "example-bucket", key: str = "test/key", size: int = 1024, now: datetime | None = None
) -> JsonDict:
    now = now or datetime.now(UTC)
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": DEFAULT_REGION,
                "eventTime": _iso(now),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "EXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": "EXAMPLE123456789",
                    "x-amz-id-2": "EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "testConfigRule",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "EXAMPLE"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        # S3 form-encodes the key in notifications: "a b.jpg" is "a+b.jpg".
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": hashlib.md5(key.encode(), usedforsecurity=False).hexdigest(),
                        "sequencer": "0A1B2C3D4E5F678901",
                    },
                },
            }
        ]
    }


def sqs(body: str = "Hello from SQS!", queue: str = "my-queue", now: datetime | None = None) -> JsonDict:
    now = now or datetime.now(UTC)
    sent = str(_epoch_ms(now))
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "MessageReceiptHandle",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{DEFAULT_REGION}:{LOCAL_ACCOUNT_ID}:{queue}",
                "awsRegion": DEFAULT_REGION,
            }
        ]
    }


def sns(
    message: str = "Hello from SNS!",
    topic: str = "my-topic",
    subject: str | None = None,
    now: datetime | None = None,
) -> JsonDict:
    now = now or datetime.now(UTC)
    topic_arn = f"arn:aws:sns:{DEFAULT_REGION}:{LOCAL_ACCOUNT_ID}:{topic}"
    return {
        "Records": [
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "EventSource": "aws:sns",
                "Sns": {
                    "SignatureVersion": "1",
                    "Timestamp": _iso(now),
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "EXAMPLE",
                    "MessageId": str(uuid.uuid4()),
                    "Message": message,
                    "MessageAttributes": {},
                    "Type": "Notification",
                    "UnsubscribeUrl": "EXAMPLE",
                    "TopicArn": topic_arn,
                    "Subject": subject,
                },
            }
        ]
    }


def eventbridge(
    detail: JsonDict | None = None,
    detail_type: str = "Custom Event",
    source: str = "my.application",
    now: datetime | None = None,
) -> JsonDict:
    now = now or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": LOCAL_ACCOUNT_ID,
        "time": _iso(now, millis=False),
        "region": DEFAULT_REGION,
        "resources": [],
        "detail": detail or {},
    }


def schedule(rule: str = "my-schedule", now: datetime | None = None) -> JsonDict:
    event = eventbridge({}, "Scheduled Event", "aws.events", now)
    event["resources"] = [f"arn:aws:events:{DEFAULT_REGION}:{LOCAL_ACCOUNT_ID}:rule/{rule}"]
    return event
