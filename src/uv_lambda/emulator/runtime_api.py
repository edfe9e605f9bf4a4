"""The Lambda Runtime API (2018-06-01) that one execution environment's runtime talks to.

awslambdaric long-polls `next`, then posts the handler's result to `response` or `error`
(or, when the handler cannot be imported, to `init/error`). Served on the event loop:
a `next` is held open until the environment has an event for it, without a thread.
Keep-alive connections with TCP_NODELAY (asyncio sets it): without it Nagle's algorithm
and delayed ACKs add ~40-90 ms to every call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import select
import socket
from collections.abc import Callable
from typing import Protocol

from uv_lambda.emulator import http11
from uv_lambda.emulator.invocation import Invocation
from uv_lambda.limits import MAX_RUNTIME_RESPONSE

log = logging.getLogger(__name__)

PREFIX = "/2018-06-01/runtime"
_NEXT_PATH = f"{PREFIX}/invocation/next"
_INIT_ERROR_PATH = f"{PREFIX}/init/error"
_INVOCATION_PATH = re.compile(rf"^{PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)$")
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_JSON = (("Content-Type", "application/json"),)
# The answer to every accepted response: the same bytes each time.
_ACCEPTED = http11.response_bytes(202, _JSON, b'{"status": "OK"}')
# The peer closed its end, or the connection broke.
_GONE = select.POLLRDHUP | select.POLLHUP | select.POLLERR


class Poll(Protocol):
    """A runtime's pending `next` request."""

    def peer_alive(self) -> bool: ...

    def send(self, invocation: Invocation) -> None: ...

    def hang_up(self) -> None: ...


# Sends the answer to a runtime's POST: (status, message).
Reply = Callable[[int, str], None]


class Backend(Protocol):
    """What the server asks of its execution environment (on the event loop)."""

    def next_invocation(self, poll: Poll) -> None: ...

    def poll_lost(self, poll: Poll) -> None: ...

    def post_response(self, request_id: str, body: bytes, reply: Reply) -> None: ...

    def post_error(self, request_id: str, body: bytes, error_type: str | None, reply: Reply) -> None: ...

    def post_init_error(self, body: bytes, error_type: str | None) -> tuple[int, str]: ...

    def response_too_large(self, request_id: str, size: int | None) -> None: ...


def next_headers(invocation: Invocation, function_arn: str) -> list[tuple[str, str]]:
    headers = [
        ("Content-Type", "application/json"),
        ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
        ("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms)),
        ("Lambda-Runtime-Invoked-Function-Arn", function_arn),
        ("Lambda-Runtime-Trace-Id", invocation.trace_id),
    ]
    # As the reference emulator does, optional headers are only sent when set.
    if invocation.client_context:
        headers.append(("Lambda-Runtime-Client-Context", invocation.client_context))
    if invocation.cognito_identity:
        headers.append(("Lambda-Runtime-Cognito-Identity", invocation.cognito_identity))
    return headers


def _status_document(status: int, message: str) -> bytes:
    kinds = {
        400: "InvalidRequestID",
        403: "InvalidStateTransition",
        404: "NotFound",
        413: "RequestEntityTooLarge",
        500: "ServiceError",
    }
    if status == 202:
        return json.dumps({"status": "OK"}).encode()
    return json.dumps({"errorMessage": message, "errorType": kinds.get(status, "Error")}).encode()


class _Connection(asyncio.Protocol):
    """One keep-alive connection from the runtime."""

    def __init__(self, server: RuntimeApiServer) -> None:
        self._server = server
        self._backend = server.backend
        self._transport: asyncio.Transport | None = None
        self._probe: select.poll | None = None
        self._reader = http11.RequestReader(MAX_RUNTIME_RESPONSE, self._write)
        self._polling = False  # a `next` is waiting for its event: no other request is read
        self._keep_alive = True
        self._closed = False

    # --- asyncio callbacks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if self._server.closed:
            transport.abort()
            return
        self._server.connections.add(self)
        # Asks the kernel, without reading, whether the runtime's end is still there.
        self._probe = select.poll()
        self._probe.register(transport.get_extra_info("socket").fileno(), _GONE)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        if not self._polling:
            self._serve()

    def eof_received(self) -> bool:
        return False  # the runtime is gone (or hung up): close our end too

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._server.connections.discard(self)
        self._probe = None
        if self._polling:
            self._polling = False
            self._backend.poll_lost(self)

    # --- Poll --------------------------------------------------------------------------------

    def peer_alive(self) -> bool:
        """False when the runtime's end of the long-poll is gone (its process died)."""
        if self._closed or self._probe is None:
            return False
        # The loop may not have seen a hang-up that is already there: ask now (no events: idle).
        return not any(events & _GONE for _, events in self._probe.poll(0))

    def send(self, invocation: Invocation) -> None:
        """Answer this connection's `next` with the event."""
        self._polling = False
        self._write(http11.response_bytes(200, next_headers(invocation, self._server.function_arn), invocation.payload))
        if not self._keep_alive:
            self.hang_up()
        elif self._reader.buffered:  # (a runtime does not pipeline; just in case)
            asyncio.get_running_loop().call_soon(self._serve)

    def hang_up(self) -> None:
        self._polling = False
        self._closed = True
        if self._transport is not None:
            self._transport.close()

    # --- requests ----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._closed:
            self._transport.write(data)

    def _serve(self) -> None:
        """Answer the buffered requests, up to a `next` (answered when an event comes)."""
        try:
            while not self._polling and not self._closed:
                request = self._reader.next_request()
                if request is None:
                    return
                if request.method == "GET" and request.target == _NEXT_PATH:
                    self._polling, self._keep_alive = True, request.keep_alive
                    self._backend.next_invocation(self)
                elif not self._answer(request):
                    self.hang_up()
        except http11.BodyTooLarge as exc:
            match = _INVOCATION_PATH.match(exc.request.target)
            if match:
                declared = exc.request.fields.get("content-length", "")
                self._backend.response_too_large(match["id"], int(declared) if declared.isdigit() else None)
            self._reply(413, "Response payload too large", False)
            self.hang_up()  # an unread body is left behind
        except http11.BadRequest as exc:
            # The runtime spoke garbage: its environment deals with what follows.
            log.debug("runtime api connection ended: %s", exc)
            self.hang_up()

    def _reply(self, status: int, message: str, keep_alive: bool) -> bool:
        if status == 202 and keep_alive:
            self._write(_ACCEPTED)
            return True
        self._write(
            http11.response_bytes(
                status, _JSON, _status_document(status, message), connection=None if keep_alive else "close"
            )
        )
        return keep_alive

    def _answer(self, request: http11.Request) -> bool:
        """Answer one request other than `next`; False when the connection must close."""
        keep_alive = request.keep_alive
        if request.method != "POST":
            return self._reply(404, f"unknown path {request.target}", keep_alive)
        error_type = request.header(ERROR_TYPE_HEADER)
        if request.target == _INIT_ERROR_PATH:
            status, message = self._backend.post_init_error(request.body, error_type)
            return self._reply(status, message, keep_alive)
        match = _INVOCATION_PATH.match(request.target)
        if not match:
            return self._reply(404, f"unknown path {request.target}", keep_alive)
        replied: list[bool] = []

        def reply(status: int, message: str) -> None:
            replied.append(self._reply(status, message, keep_alive and status != 413))

        if match["kind"] == "response":
            self._backend.post_response(match["id"], request.body, reply)
        else:
            self._backend.post_error(match["id"], request.body, error_type, reply)
        return all(replied)


class RuntimeApiServer:
    """A Runtime API on 127.0.0.1 (a free port) for one execution environment (on the loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, backend: Backend, function_arn: str) -> None:
        self.backend = backend
        self.function_arn = function_arn
        self.connections: set[_Connection] = set()
        self.closed = False
        # Bound and listening now, so the runtime can connect as soon as it starts: its
        # connection waits in the backlog until the loop serves the socket.
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._starting = loop.create_task(loop.create_server(lambda: _Connection(self), sock=self._listener))

    def close(self) -> None:
        self.closed = True
        if not self._starting.done():
            self._starting.cancel()
        elif not self._starting.cancelled() and self._starting.exception() is None:
            self._starting.result().close()
        self._listener.close()
        for connection in list(self.connections):
            connection.hang_up()
