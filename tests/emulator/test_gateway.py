"""Function results to HTTP, per service (pure), and the Invoke API's request checks."""

from __future__ import annotations

import base64
import json

import pytest

from uv_lambda.emulator import gateway
from uv_lambda.emulator.invoke_api import log_tail, parse_function_name


def _result(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_structured_result_with_multi_value_headers_and_cookies() -> None:
    payload = _result(
        statusCode=201,
        headers={"content-type": "text/plain", "content-length": "999"},
        multiValueHeaders={"x-a": ["1", "2"]},
        cookies=["s=1"],
        body="made",
        isBase64Encoded=False,
    )
    response = gateway.to_http("apigw-v2", payload, function_error=False)
    assert response.status == 201
    assert ("content-type", "text/plain") in response.headers
    assert [v for k, v in response.headers if k == "x-a"] == ["1", "2"]
    assert ("set-cookie", "s=1") in response.headers
    assert all(k != "content-length" for k, _ in response.headers)  # the server sets its own
    assert response.body == b"made"
    assert ("set-cookie", "s=1") not in gateway.to_http("apigw-v1", payload, False).headers


def test_base64_body_is_decoded() -> None:
    payload = _result(statusCode=200, body=base64.b64encode(b"\x00\xff").decode(), isBase64Encoded=True)
    assert gateway.to_http("function-url", payload, False).body == b"\x00\xff"


def test_payload_2_0_result_without_status_code_is_a_json_200() -> None:
    response = gateway.to_http("apigw-v2", b'{"hello": "world"}', False)
    assert (response.status, response.body) == (200, b'{"hello": "world"}')
    assert gateway.to_http("apigw-v1", b'{"hello": "world"}', False).status == 502


def test_alb_status_description_and_the_header_mode_of_the_target_group() -> None:
    payload = _result(
        statusCode=404, statusDescription="404 Not Found", headers={"a": "x"}, multiValueHeaders={"b": ["y"]}, body=""
    )
    response = gateway.to_http("alb", payload, False)
    assert response.reason == "Not Found"
    assert response.headers == (("a", "x"),)
    assert gateway.to_http("alb", payload, False, alb_multi_value=True).headers == (("b", "y"),)


@pytest.mark.parametrize("event_format", ["apigw-v1", "apigw-v2", "function-url", "alb"])
def test_function_errors_and_garbage_are_502(event_format: str) -> None:
    assert gateway.to_http(event_format, b'{"errorType": "X"}', True).status == 502
    assert gateway.to_http(event_format, _result(statusCode="abc"), False).status == 502
    assert gateway.to_http(event_format, b"not json", False).status == 502


def test_function_names_in_the_invoke_path() -> None:
    assert parse_function_name("api") == ("api", None)
    assert parse_function_name("api:$LATEST") == ("api", "$LATEST")
    arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aapi"
    assert parse_function_name(arn) == ("api", None)


def test_log_tail_is_the_last_4_kb() -> None:
    text = "x" * 5000 + "END"
    decoded = base64.b64decode(log_tail(text))
    assert len(decoded) == 4096 and decoded.endswith(b"END")
