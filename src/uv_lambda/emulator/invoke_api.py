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
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from uv_lambda.emulator.environment import InvocationResult
from uv_lambda.emulator.limits import (
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


Invoker = Callable[[bytes, str | None], InvocationResult]


class InvokeApi:
    def __init__(
        self,
        function_name: str,
        invoke: Invoker,
        *,
        on_result: Callable[[InvocationResult], None] | None = None,
    ) -> None:
        self.function_name = function_name
        self._invoke = invoke
        self._on_result = on_result or (lambda result: None)
        self._background: set[threading.Thread] = set()

    def _not_found(self, name: str, qualifier: str | None) -> ApiResponse:
        shown = f"{name}:{qualifier}" if qualifier else name
        return error(404, "ResourceNotFoundException", f"Function not found: {shown}")

    def handle(
        self, raw_name: str, headers: Mapping[str, str], body: bytes, query_qualifier: str | None = None
    ) -> ApiResponse:
        """Answer one Invoke call; `query_qualifier` is the `?Qualifier=` boto3 sends."""
        name, qualifier = parse_function_name(raw_name)
        qualifier = qualifier or query_qualifier
        if name not in (self.function_name, GENERIC_NAME) or qualifier not in (None, DEFAULT_VERSION):
            return self._not_found(name, qualifier)
        invocation_type = headers.get("x-amz-invocation-type") or "RequestResponse"
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            return error(
                400,
                "InvalidParameterValueException",
                f"Unsupported invocation type {invocation_type}",
            )
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(body) > limit:
            return error(
                413,
                "RequestEntityTooLargeException",
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
            )
        try:
            json.loads(body or b"null")
        except ValueError as exc:
            return error(400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}")
        try:
            client_context = self._client_context(headers.get("x-amz-client-context"))
        except ValueError:
            return error(
                400,
                "InvalidRequestContentException",
                "Client context must be a valid Base64-encoded JSON object.",
            )
        version = (("X-Amz-Executed-Version", DEFAULT_VERSION),)
        if invocation_type == "DryRun":
            return ApiResponse(204, version, b"")
        if invocation_type == "Event":
            self._start_background(body or b"{}", client_context)
            return ApiResponse(202, version, b"")
        result = self._invoke(body or b"{}", client_context)
        self._on_result(result)
        response_headers = [
            ("Content-Type", "application/json"),
            ("X-Amzn-RequestId", result.request_id),
            *version,
        ]
        if result.function_error:
            response_headers.append(("X-Amz-Function-Error", "Unhandled"))
        if (headers.get("x-amz-log-type") or "").lower() == "tail":
            response_headers.append(("X-Amz-Log-Result", log_tail(result.log)))
        return ApiResponse(200, tuple(response_headers), result.payload)

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

    def _start_background(self, body: bytes, client_context: str | None) -> None:
        def run() -> None:
            try:
                self._on_result(self._invoke(body, client_context))
            except RuntimeError as exc:  # shutting down: an async event has no caller to tell
                log.debug("asynchronous invocation dropped: %s", exc)
            except Exception:  # an async invocation has no caller to tell
                log.exception("asynchronous invocation failed")
            finally:
                self._background.discard(thread)

        thread = threading.Thread(target=run, name="event-invocation", daemon=True)
        self._background.add(thread)
        thread.start()

    def wait_background(self, timeout: float) -> None:
        for thread in list(self._background):
            thread.join(timeout)
