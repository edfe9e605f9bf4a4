"""Event shapes (pure) and `uv-lambda event`."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from uv_lambda.emulator import events
from uv_lambda.emulator.event_types import EVENT_TYPES

NOW = datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC)

REQUEST = events.HttpRequest(
    method="POST",
    path="/items/a b",
    raw_query="tag=x&tag=y%20z&page=2",
    headers=(
        ("Host", "localhost"),
        ("X-Multi", "1"),
        ("X-Multi", "2"),
        ("Cookie", "a=1; b=2"),
        ("Content-Type", "application/json"),
        ("User-Agent", "test"),
    ),
    body=b'{"id": 1}',
    now=NOW,
    request_id="req-1",
)


def test_rest_api_payload_1_0() -> None:
    event = events.apigw_v1(REQUEST)
    assert event["resource"] == "/{proxy+}"
    assert event["path"] == "/items/a b"
    assert event["httpMethod"] == "POST"
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["queryStringParameters"] == {"tag": "y z", "page": "2"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["x", "y z"], "page": ["2"]}
    assert event["pathParameters"] == {"proxy": "items/a b"}
    assert event["requestContext"]["stage"] == "Prod"
    assert event["requestContext"]["requestTimeEpoch"] == int(NOW.timestamp() * 1000)
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["body"] == '{"id": 1}' and event["isBase64Encoded"] is False


def test_rest_api_root_without_query_or_body() -> None:
    event = events.apigw_v1(events.HttpRequest(now=NOW))
    assert event["resource"] == "/"
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["body"] is None


def test_http_api_payload_2_0() -> None:
    event = events.apigw_v2(REQUEST)
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/items/a%20b"
    assert event["rawQueryString"] == "tag=x&tag=y%20z&page=2"
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "1,2"
    assert event["queryStringParameters"] == {"tag": "x,y z", "page": "2"}
    http = event["requestContext"]["http"]
    assert http == {
        "method": "POST",
        "path": "/items/a b",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "test",
    }
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["time"] == "26/Nov/2026:12:00:00 +0000"


def test_function_url_is_payload_2_0_on_a_lambda_url_domain() -> None:
    event = events.function_url(REQUEST)
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["requestContext"]["domainName"].endswith(".lambda-url.us-east-1.on.aws")


def test_alb_single_and_multi_value() -> None:
    single = events.alb(REQUEST)
    assert "elb" in single["requestContext"]
    assert single["queryStringParameters"] == {"tag": "y%20z", "page": "2"}  # ALB does not decode
    assert single["headers"]["x-multi"] == "2"
    multi = events.alb(REQUEST, multi_value=True)
    assert multi["multiValueHeaders"]["x-multi"] == ["1", "2"]
    assert multi["multiValueQueryStringParameters"]["tag"] == ["x", "y%20z"]
    assert "headers" not in multi


def test_binary_bodies_are_base64() -> None:
    request = events.HttpRequest(method="PUT", headers=(("content-type", "image/png"),), body=b"\x89PNG\x00\xff")
    for build in (events.apigw_v1, events.apigw_v2, events.function_url, events.alb):
        event = build(request)
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == b"\x89PNG\x00\xff"


def test_service_events() -> None:
    s3 = events.s3_put("bucket", "photos/a b.jpg", 42, now=NOW)["Records"][0]
    assert s3["eventName"] == "ObjectCreated:Put" and s3["eventSource"] == "aws:s3"
    assert s3["s3"]["bucket"]["arn"] == "arn:aws:s3:::bucket"
    assert s3["s3"]["object"] == s3["s3"]["object"] | {"key": "photos/a+b.jpg", "size": 42}
    # As S3 encodes keys in notifications (form encoding, "/" kept).
    assert events.s3_put("b", "a+b=c/d é.jpg")["Records"][0]["s3"]["object"]["key"] == "a%2Bb%3Dc/d+%C3%A9.jpg"
    sqs = events.sqs("hello")["Records"][0]
    assert sqs["eventSource"] == "aws:sqs" and sqs["body"] == "hello"
    sns = events.sns("note")["Records"][0]
    assert sns["EventSource"] == "aws:sns" and sns["Sns"]["Message"] == "note"
    bridge = events.eventbridge({"k": 1})
    assert bridge["detail"] == {"k": 1} and bridge["version"] == "0"
    scheduled = events.schedule(now=NOW)
    assert scheduled["detail-type"] == "Scheduled Event" and scheduled["source"] == "aws.events"
    assert scheduled["time"] == "2026-11-26T12:00:00Z"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_cli_prints_every_type_as_json(cli: Any, event_type: str) -> None:
    result = cli("event", event_type)
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), dict)


def test_cli_builds_the_request_from_flags(cli: Any) -> None:
    result = cli(
        "event",
        "apigw-v1",
        "--method",
        "post",
        "--path",
        "/a?x=1",
        "--query",
        "y=2",
        "--header",
        "X-Test: yes",
        "--body",
        '{"k": 1}',
    )
    event = json.loads(result.stdout)
    assert event["httpMethod"] == "POST" and event["path"] == "/a"
    assert event["queryStringParameters"] == {"x": "1", "y": "2"}
    assert event["headers"]["X-Test"] == "yes"
    assert event["headers"]["content-type"] == "application/json"
    assert event["body"] == '{"k": 1}'


def test_cli_rejects_a_malformed_header(cli: Any) -> None:
    result = cli("event", "alb", "--header", "no-colon-here")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --header 'no-colon-here' is not NAME:VALUE")


def test_cli_s3_put_encodes_the_key_as_s3_does(cli: Any) -> None:
    result = cli("event", "s3-put", "--key", "a b.jpg")
    assert json.loads(result.stdout)["Records"][0]["s3"]["object"]["key"] == "a+b.jpg"
