"""The HTTP server of `uv-lambda serve`: a gateway in front of the function, plus the Invoke API.

Every request is an event of the chosen format (API Gateway REST or HTTP API, Function
URL, ALB) except `POST /2015-03-31/functions/{name}/invocations`, which is the Lambda
Invoke API. Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import errno
import json
import logging
import socketserver
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from uv_lambda.emulator import events, gateway, http11
from uv_lambda.emulator.environment import InvocationResult
from uv_lambda.emulator.function import PayloadError
from uv_lambda.emulator.invoke_api import PATH as INVOKE_PATH
from uv_lambda.emulator.invoke_api import ApiResponse, InvokeApi
from uv_lambda.emulator.invoke_api import error as invoke_error
from uv_lambda.emulator.pool import PoolClosed
from uv_lambda.errors import UsageError

log = logging.getLogger(__name__)

Invoker = Callable[[bytes, str | None], InvocationResult]

# A bigger body than this is refused before it is read (API Gateway's own limit is 10 MB).
_MAX_REQUEST_BODY = 10 * 1024 * 1024
_JSON = (("content-type", "application/json"),)


class _Handler(socketserver.StreamRequestHandler):
    disable_nagle_algorithm = True
    server: LambdaHttpServer

    def handle(self) -> None:
        try:
            while True:
                request = http11.read_head(self.rfile)
                if request is None:
                    return
                close = not request.keep_alive
                try:
                    body = http11.read_body(self.rfile, request, _MAX_REQUEST_BODY, self.wfile.write)
                except http11.BodyTooLarge:
                    self._send(request, 413, _JSON, b'{"message":"Request Too Long"}', close=True)
                    return
                request.body = body
                self._dispatch(request, close)
                if close:
                    return
        except http11.BadRequest as exc:
            log.debug("serve: bad request: %s", exc)
            self._send(None, 400, _JSON, b'{"message":"Bad Request"}', close=True)
        except (ConnectionError, TimeoutError):
            pass  # the client went away

    def _send(
        self,
        request: http11.Request | None,
        status: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        *,
        reason: str | None = None,
        close: bool = False,
    ) -> None:
        head_only = request is not None and request.method == "HEAD"
        self.wfile.write(http11.response_bytes(status, headers, body, reason=reason, close=close, head_only=head_only))

    def _dispatch(self, request: http11.Request, close: bool) -> None:
        split = urlsplit(request.target)
        match = INVOKE_PATH.match(split.path) if request.method == "POST" else None
        if match:
            lowered = {name.lower(): value for name, value in request.headers}
            try:
                qualifier = parse_qs(split.query).get("Qualifier", [None])[0]
                answer: ApiResponse = self.server.invoke_api.handle(match["name"], lowered, request.body, qualifier)
            except PoolClosed:
                answer = invoke_error(503, "ServiceException", "the function is shutting down")
            self._send(request, answer.status, answer.headers, answer.body, close=close)
            return
        event_request = events.HttpRequest(
            method=request.method,
            path=unquote(split.path) or "/",
            raw_query=split.query,
            headers=tuple(request.headers),
            body=request.body,
            source_ip=self.client_address[0],
            protocol=request.version,
        )
        event_format = self.server.event_format
        if event_format == "alb":
            event = events.alb(event_request, multi_value=self.server.alb_multi_value)
        else:
            event = events.HTTP_EVENT_BUILDERS[event_format](event_request)
        try:
            result = self.server.invoke(json.dumps(event).encode(), None)
        except PayloadError:
            self._send(request, 413, _JSON, b'{"message":"Request Too Long"}', close=close)
            return
        except PoolClosed:
            self._send(request, 503, _JSON, b'{"message":"Service Unavailable"}', close=True)
            return
        self.server.report(result)
        response = gateway.to_http(
            event_format, result.payload, result.function_error, alb_multi_value=self.server.alb_multi_value
        )
        self._send(request, response.status, response.headers, response.body, reason=response.reason, close=close)


class LambdaHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # load generators open many connections at once

    def __init__(
        self,
        port: int,
        function_name: str,
        invoke: Invoker,
        *,
        event_format: str = "apigw-v2",
        alb_multi_value: bool = False,
        report: Callable[[InvocationResult], None] | None = None,
    ) -> None:
        self.event_format = event_format
        self.alb_multi_value = alb_multi_value
        self.invoke = invoke
        self.report = report or (lambda result: None)
        self.invoke_api = InvokeApi(function_name, invoke, on_result=self.report)
        try:
            super().__init__(("127.0.0.1", port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"port {port} on 127.0.0.1 is in use",
                    "pick another with --port, or stop the program that listens there",
                ) from None
            raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}", "pick another --port") from None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        thread.start()
        return thread
