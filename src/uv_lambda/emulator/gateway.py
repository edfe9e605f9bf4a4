"""What an API Gateway, a Function URL or an ALB makes of a function's result (pure).

`serve` turns an HTTP request into an event with `events`, invokes the function, and
turns the result into an HTTP response here, with each service's rules for malformed
results and function errors.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

# Headers the service sets itself; a function's values for them are dropped.
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # what a header name may hold (RFC 9110 5.6.2)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    reason: str | None = None  # ALB's statusDescription


def _json_error(status: int, message: str) -> HttpResponse:
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, (("content-type", "application/json"),), body)


def service_error(event_format: str) -> HttpResponse:
    """The answer each service gives when the function fails or returns garbage."""
    if event_format == "alb":
        body = (
            b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
        )
        return HttpResponse(502, (("content-type", "text/html"),), body)
    if event_format == "function-url":
        return HttpResponse(502, (("content-type", "text/plain"),), b"Internal Server Error")
    return _json_error(502, "Internal server error")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if "\r" in text or "\n" in text or "\0" in text:
        # Written out as is, it would end the header early and start another (or a body).
        raise ValueError("a header value with a line break")
    return text


def _name(name: Any) -> str:
    text = str(name)
    if not _TOKEN.fullmatch(text):
        raise ValueError(f"bad header name {text[:40]!r}")
    return text


def _structured(event_format: str, result: dict[str, Any], alb_multi_value: bool) -> HttpResponse:
    return HttpResponse(
        _status(result),
        _headers(event_format, result, alb_multi_value),
        _body(result),
        _reason(result) if event_format == "alb" else None,
    )


def _status(result: dict[str, Any]) -> int:
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError("statusCode must be an HTTP status")
    return status


def _headers(event_format: str, result: dict[str, Any], alb_multi_value: bool) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise ValueError("headers must be objects")
    if event_format == "alb":
        # An ALB reads only multiValueHeaders when multi-value headers are enabled on the
        # target group, and only headers when they are not.
        single, multi = ({}, multi) if alb_multi_value else (single, {})
    for name, value in single.items():
        if str(name).lower() not in _HOP_BY_HOP and name not in multi:
            headers.append((_name(name), _text(value)))
    for name, values in multi.items():
        if str(name).lower() in _HOP_BY_HOP:
            continue
        for value in values if isinstance(values, list) else [values]:
            headers.append((_name(name), _text(value)))
    if event_format in ("apigw-v2", "function-url"):
        for cookie in result.get("cookies") or []:
            headers.append(("set-cookie", _text(cookie)))
    return tuple(headers)


def _body(result: dict[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise ValueError("body must be a string")
    if result.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return body.encode()


def _reason(result: dict[str, Any]) -> str | None:
    """An ALB's statusDescription ("200 OK") gives the reason phrase."""
    description = result.get("statusDescription")
    if isinstance(description, str):
        return description.partition(" ")[2] or None
    return None


def to_http(event_format: str, payload: bytes, function_error: bool, *, alb_multi_value: bool = False) -> HttpResponse:
    """The HTTP response for a function's result under `event_format`."""
    if function_error:
        return service_error(event_format)
    try:
        result = json.loads(payload) if payload else None
    except ValueError:
        return service_error(event_format)
    if isinstance(result, dict) and "statusCode" in result:
        try:
            return _structured(event_format, result, alb_multi_value)
        except (ValueError, TypeError, binascii.Error):
            return service_error(event_format)
    if event_format in ("apigw-v2", "function-url") and payload:
        # Payload 2.0: a result without statusCode is a 200 with the result as JSON body.
        return HttpResponse(HTTPStatus.OK, (("content-type", "application/json"),), payload)
    return service_error(event_format)
