"""The Lambda Invoke API: `POST /2015-03-31/functions/{FunctionName}/invocations`.

What `aws lambda invoke --endpoint-url` and boto3's `invoke` send, answered as Lambda
answers: RequestResponse (200), Event (202, run in the background) and DryRun (204);
X-Amz-Function-Error, X-Amz-Log-Result (with X-Amz-Log-Type: Tail) and
X-Amz-Executed-Version; Lambda's error documents for bad requests.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from uv_lambda.emulator.environment import InvocationResult
from uv_lambda.emulator.pool import PoolClosed, ResultCallback
from uv_lambda.limits import (
    DEFAULT_VERSION,
    LOG_TAIL_BYTES,
    MAX_ASYNC_PAYLOAD,
    MAX_SYNC_PAYLOAD,
)

log = logging.getLogger(__name__)

PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[^:]*:\d{12}:function:(?P<rest>.+)$")
# The reference emulator answers for this name whatever the function is called.
GENERIC_NAME = "function"


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


_VERSION = (("X-Amz-Executed-Version", DEFAULT_VERSION),)


def error(status: int, error_type: str, message: str) -> ApiResponse:
    body = json.dumps({"Type": "User", "message": message}).encode()
    headers = (("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type))
    return ApiResponse(status, headers, body)


def parse_function_name(raw: str) -> tuple[str, str | None]:
    """(name, qualifier) from a name, `name:qualifier`, or a full or partial ARN."""
    text = unquote(raw)
    match = _ARN.match(text)
    if match:
        text = match["rest"]
    name, _, qualifier = text.partition(":")
    return name, qualifier or None


def log_tail(log_text: str) -> str:
    """X-Amz-Log-Result: base64 of the last 4 KB of the invocation's log."""
    return base64.b64encode(log_text.encode()[-LOG_TAIL_BYTES:]).decode("ascii")


# Starts one event on the event loop: (payload, client context, callback); raises PoolClosed
# when the function is shutting down.
Submitter = Callable[[bytes, str | None, ResultCallback], None]
Respond = Callable[[ApiResponse], None]


class InvokeApi:
    """Answers Invoke calls on the event loop: `respond` is called once per call."""

    def __init__(
        self,
        function_name: str,
        submit: Submitter,
        *,
        on_result: Callable[[InvocationResult], None] | None = None,
    ) -> None:
        self.function_name = function_name
        self._submit = submit
        self._on_result = on_result or (lambda result: None)

    def _not_found(self, name: str, qualifier: str | None) -> ApiResponse:
        shown = f"{name}:{qualifier}" if qualifier else name
        return error(404, "ResourceNotFoundException", f"Function not found: {shown}")

    def handle(
        self,
        raw_name: str,
        headers: Mapping[str, str],
        body: bytes,
        query_qualifier: str | None,
        respond: Respond,
    ) -> None:
        """Answer one Invoke call; `query_qualifier` is the `?Qualifier=` boto3 sends."""
        name, qualifier = parse_function_name(raw_name)
        qualifier = qualifier or query_qualifier
        if name not in (self.function_name, GENERIC_NAME) or qualifier not in (None, DEFAULT_VERSION):
            respond(self._not_found(name, qualifier))
            return
        invocation_type = headers.get("x-amz-invocation-type") or "RequestResponse"
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            respond(error(400, "InvalidParameterValueException", f"Unsupported invocation type {invocation_type}"))
            return
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(body) > limit:
            respond(
                error(
                    413,
                    "RequestEntityTooLargeException",
                    f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
                )
            )
            return
        try:
            json.loads(body or b"null")
        except ValueError as exc:
            respond(error(400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}"))
            return
        try:
            client_context = self._client_context(headers.get("x-amz-client-context"))
        except ValueError:
            respond(
                error(
                    400, "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object."
                )
            )
            return
        if invocation_type == "DryRun":
            respond(ApiResponse(204, _VERSION, b""))
            return
        if invocation_type == "Event":
            self._start(body or b"{}", client_context, self._event_done)
            respond(ApiResponse(202, _VERSION, b""))
            return
        tail = (headers.get("x-amz-log-type") or "").lower() == "tail"
        self._start(body or b"{}", client_context, lambda outcome: respond(self._answer(outcome, tail)))

    def _start(self, body: bytes, client_context: str | None, on_done: ResultCallback) -> None:
        try:
            self._submit(body, client_context, on_done)
        except Exception as exc:  # shutting down: answered like a failure that came later
            on_done(exc)

    def _answer(self, outcome: InvocationResult | BaseException, tail: bool) -> ApiResponse:
        if isinstance(outcome, PoolClosed):
            return error(503, "ServiceException", "the function is shutting down")
        if isinstance(outcome, BaseException):
            log.error("invocation failed: %s", outcome, exc_info=outcome)
            return error(500, "ServiceException", str(outcome))
        self._on_result(outcome)
        response_headers = [("Content-Type", "application/json"), ("X-Amzn-RequestId", outcome.request_id), *_VERSION]
        if outcome.function_error:
            response_headers.append(("X-Amz-Function-Error", "Unhandled"))
        if tail:
            response_headers.append(("X-Amz-Log-Result", log_tail(outcome.log)))
        return ApiResponse(200, tuple(response_headers), outcome.payload)

    def _event_done(self, outcome: InvocationResult | BaseException) -> None:
        if isinstance(outcome, PoolClosed):  # shutting down: an async event has no caller to tell
            log.debug("asynchronous invocation dropped: %s", outcome)
        elif isinstance(outcome, BaseException):  # an async invocation has no caller to tell
            log.error("asynchronous invocation failed: %s", outcome, exc_info=outcome)
        else:
            self._on_result(outcome)

    @staticmethod
    def _client_context(value: str | None) -> str | None:
        if not value:
            return None
        try:
            text = base64.b64decode(value, validate=True).decode()
            if not isinstance(json.loads(text), dict):
                raise ValueError("not an object")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(str(exc)) from None
        return text
