"""The HTTP server of `uv-lambda serve`: a gateway in front of the function, plus the Invoke API.

Every request is an event of the chosen format (API Gateway REST or HTTP API, Function
URL, ALB) except `POST /2015-03-31/functions/{name}/invocations`, which is the Lambda
Invoke API. Only 127.0.0.1 is ever bound. It runs on the event loop that also serves the
environments' Runtime APIs, so a request, its event and its answer never change threads.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from uv_lambda.emulator import events, gateway, http11
from uv_lambda.emulator import loop as event_loop
from uv_lambda.emulator.environment import InvocationResult
from uv_lambda.emulator.function import PayloadError
from uv_lambda.emulator.invoke_api import PATH as INVOKE_PATH
from uv_lambda.emulator.invoke_api import ApiResponse, InvokeApi, Submitter
from uv_lambda.emulator.pool import PoolClosed
from uv_lambda.errors import UsageError

log = logging.getLogger(__name__)

# A bigger body than this is refused before it is read (API Gateway's own limit is 10 MB).
_MAX_REQUEST_BODY = 10 * 1024 * 1024
_BACKLOG = 256  # load generators open many connections at once
# A connection with no request in progress is closed after this long, as Node's and
# uvicorn's servers do by default (5 s): idle clients do not hold file descriptors forever.
IDLE_TIMEOUT = 5.0
# A request must arrive whole (head and body) this long after its first byte (Node's
# headersTimeout); a client that trickles bytes (slowloris) gets a 408.
REQUEST_TIMEOUT = 60.0
_JSON = (("content-type", "application/json"),)


@dataclass(frozen=True)
class ServerOptions:
    """What the server's clients see: the gateway it stands in for, and how long it waits."""

    event_format: str = "apigw-v2"  # a key of events.HTTP_EVENT_BUILDERS, or "alb"
    alb_multi_value: bool = False  # alb: the target group has multi-value headers enabled
    idle_timeout: float = IDLE_TIMEOUT
    request_timeout: float = REQUEST_TIMEOUT


class _Connection(asyncio.Protocol):
    """One client connection: its requests are answered one at a time, in order."""

    def __init__(self, server: LambdaHttpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._reader = http11.RequestReader(_MAX_REQUEST_BODY, self._write)
        self._client_ip = "127.0.0.1"
        self._busy = False  # a request is being answered: the next ones wait in the reader
        self._serving = False  # inside _serve, which goes on with the next request itself
        self._eof = False
        self._closed = False
        self._timer: asyncio.TimerHandle | None = None
        self._timing_request = False  # the timer is REQUEST_TIMEOUT's, not IDLE_TIMEOUT's

    # --- asyncio callbacks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        if peer:
            self._client_ip = str(peer[0])
        self._server.connections.add(self)
        self._wait(request=False)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        if not self._busy:
            self._serve()

    def eof_received(self) -> bool:
        # A client that half-closes after its request still gets the answer, then we close.
        self._eof = True
        return self._busy

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._stop_timer()
        self._server.connections.discard(self)

    # --- timeouts ----------------------------------------------------------------------------

    def _wait(self, *, request: bool) -> None:
        """Start the idle timer, or (a request has begun) the request timer if not running."""
        if self._closed or (request and self._timing_request and self._timer is not None):
            return
        self._stop_timer()
        loop = asyncio.get_running_loop()
        delay = self._server.options.request_timeout if request else self._server.options.idle_timeout
        self._timer = loop.call_later(delay, self._timed_out)
        self._timing_request = request

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self._busy or self._closed:
            return
        if self._timing_request:
            log.debug(
                "serve: request from %s not complete after %.0f s",
                self._client_ip,
                self._server.options.request_timeout,
            )
            self.answer(None, 408, _JSON, b'{"message":"Request Timeout"}', close=True)
        else:
            self.close()

    # --- requests ----------------------------------------------------------------------------

    def close(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.close()

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._closed:
            self._transport.write(data)

    def _serve(self) -> None:
        self._serving = True
        try:
            while not self._busy and not self._closed:
                try:
                    request = self._reader.next_request()
                except http11.BodyTooLarge as exc:
                    self.answer(exc.request, 413, _JSON, b'{"message":"Request Too Long"}', close=True)
                    return
                except http11.BadRequest as exc:
                    log.debug("serve: bad request from %s: %s", self._client_ip, exc)
                    self.answer(None, 400, _JSON, b'{"message":"Bad Request"}', close=True)
                    return
                if request is None:
                    if self._eof:
                        self.close()
                    else:
                        self._wait(request=self._reader.pending)
                    return
                self._busy = True
                self._stop_timer()
                try:
                    self._server.dispatch(request, self)
                except Exception:
                    log.exception("serve: request failed")
                    self.answer(request, 500, _JSON, b'{"message":"Internal Server Error"}', close=True)
        finally:
            self._serving = False

    @property
    def client_ip(self) -> str:
        return self._client_ip

    def answer(
        self,
        request: http11.Request | None,
        status: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        *,
        reason: str | None = None,
        close: bool = False,
    ) -> None:
        """Send the response to the request being answered (once), then go on to the next."""
        if self._closed:
            return
        close = close or request is None or not request.keep_alive
        head_only = request is not None and request.method == "HEAD"
        # An HTTP/1.0 client keeps the connection only when told so (RFC 9112 9.3).
        keep_alive = not close and request is not None and request.version == "HTTP/1.0"
        connection: Literal["close", "keep-alive"] | None = "close" if close else "keep-alive" if keep_alive else None
        self._write(
            http11.response_bytes(status, headers, body, reason=reason, connection=connection, head_only=head_only)
        )
        if close:
            self.close()
            return
        self._busy = False
        if not self._serving:
            if self._reader.buffered:
                self._serve()
            else:
                self._wait(request=False)


class LambdaHttpServer:
    def __init__(
        self,
        port: int,
        function_name: str,
        submit: Submitter,
        *,
        options: ServerOptions = ServerOptions(),
        report: Callable[[InvocationResult], None] | None = None,
        loop_thread: event_loop.LoopThread | None = None,
    ) -> None:
        self.options = options
        self.submit = submit
        self.report = report or (lambda result: None)
        self.invoke_api = InvokeApi(function_name, submit, on_result=self.report)
        self.connections: set[_Connection] = set()
        self._loop_thread = loop_thread or event_loop.shared()
        self._server: asyncio.AbstractServer | None = None
        try:
            self._socket = socket.create_server(("127.0.0.1", port), backlog=_BACKLOG)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"port {port} on 127.0.0.1 is in use",
                    "pick another with --port, or stop the program that listens there",
                ) from None
            raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}", "pick another --port") from None

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def start(self) -> None:
        """Serve on the event loop (call from another thread)."""

        async def start() -> asyncio.AbstractServer:
            loop = asyncio.get_running_loop()
            return await loop.create_server(lambda: _Connection(self), sock=self._socket, backlog=_BACKLOG)

        self._server = self._loop_thread.run(start())

    def close(self) -> None:
        """Stop listening and drop the open connections (call from another thread)."""

        def close() -> None:
            if self._server is not None:
                self._server.close()
            self._socket.close()
            for connection in list(self.connections):
                connection.close()

        self._loop_thread.call(close)

    # --- on the loop -------------------------------------------------------------------------

    def dispatch(self, request: http11.Request, connection: _Connection) -> None:
        """Answer one request: the Invoke API, or the function behind the gateway."""
        try:
            split = urlsplit(request.target)
        except ValueError:  # e.g. `http://[::1/`: an unclosed IPv6 address
            connection.answer(request, 400, _JSON, b'{"message":"Bad Request"}', close=True)
            return
        match = INVOKE_PATH.match(split.path) if request.method == "POST" else None
        if match:
            lowered = {name.lower(): value for name, value in request.headers}
            qualifier = parse_qs(split.query).get("Qualifier", [None])[0]

            def respond(answer: ApiResponse) -> None:
                connection.answer(request, answer.status, answer.headers, answer.body)

            self.invoke_api.handle(match["name"], lowered, request.body, qualifier, respond)
            return
        event_request = events.HttpRequest(
            method=request.method,
            path=unquote(split.path) or "/",
            raw_query=split.query,
            headers=tuple(request.headers),
            body=request.body,
            source_ip=connection.client_ip,
            protocol=request.version,
        )
        if self.options.event_format == "alb":
            event = events.alb(event_request, multi_value=self.options.alb_multi_value)
        else:
            event = events.HTTP_EVENT_BUILDERS[self.options.event_format](event_request)

        def done(outcome: InvocationResult | BaseException) -> None:
            self._answer_gateway(request, connection, outcome)

        try:
            self.submit(json.dumps(event).encode(), None, done)
        except Exception as exc:
            done(exc)

    def _answer_gateway(
        self, request: http11.Request, connection: _Connection, outcome: InvocationResult | BaseException
    ) -> None:
        if isinstance(outcome, PayloadError):
            connection.answer(request, 413, _JSON, b'{"message":"Request Too Long"}')
            return
        if isinstance(outcome, PoolClosed):
            connection.answer(request, 503, _JSON, b'{"message":"Service Unavailable"}', close=True)
            return
        if isinstance(outcome, BaseException):
            log.error("serve: invocation failed: %s", outcome, exc_info=outcome)
            connection.answer(request, 500, _JSON, b'{"message":"Internal Server Error"}', close=True)
            return
        self.report(outcome)
        response = gateway.to_http(
            self.options.event_format,
            outcome.payload,
            outcome.function_error,
            alb_multi_value=self.options.alb_multi_value,
        )
        connection.answer(request, response.status, response.headers, response.body, reason=response.reason)
