"""The Lambda Runtime API (2018-06-01) that one execution environment's runtime talks to.

awslambdaric long-polls `next`, then posts the handler's result to `response` or `error`
(or, when the handler cannot be imported, to `init/error`). Keep-alive connections with
TCP_NODELAY: without it Nagle's algorithm and delayed ACKs add ~40-90 ms to every call.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import select
import socket
import threading
from collections.abc import Callable
from typing import Protocol

from uv_lambda.emulator import http11
from uv_lambda.emulator.invocation import Invocation
from uv_lambda.emulator.limits import MAX_RUNTIME_RESPONSE

log = logging.getLogger(__name__)

PREFIX = "/2018-06-01/runtime"
_INVOCATION_PATH = re.compile(rf"^{PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)$")
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


class Poll(Protocol):
    """A runtime's pending `next` request."""

    def peer_alive(self) -> bool: ...

    def send(self, invocation: Invocation) -> None: ...


# Sends the answer to a runtime's POST: (status, message).
Reply = Callable[[int, str], None]


class Backend(Protocol):
    """What the server asks of its execution environment."""

    def next_invocation(self, poll: Poll) -> bool: ...

    def post_response(self, request_id: str, body: bytes, reply: Reply) -> None: ...

    def post_error(self, request_id: str, body: bytes, error_type: str | None, reply: Reply) -> None: ...

    def post_init_error(self, body: bytes, error_type: str | None) -> tuple[int, str]: ...

    def response_too_large(self, request_id: str) -> None: ...


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


class _Connection:
    """One keep-alive connection from the runtime, served on its own thread."""

    def __init__(self, sock: socket.socket, backend: Backend, function_arn: str) -> None:
        self.sock = sock
        self.backend = backend
        self.function_arn = function_arn
        self.rfile = sock.makefile("rb")

    def peer_alive(self) -> bool:
        """False when the runtime's end of the long-poll is gone (its process died)."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
            if not readable:
                return True
            return bool(self.sock.recv(1, socket.MSG_PEEK))
        except OSError:
            return False

    def send(self, invocation: Invocation) -> None:
        """Answer this connection's `next` with the event."""
        headers = next_headers(invocation, self.function_arn)
        self.sock.sendall(http11.response_bytes(200, headers, invocation.payload))

    def serve(self) -> None:
        while True:
            request = http11.read_head(self.rfile)
            if request is None:
                return
            if request.method == "GET" and request.target == f"{PREFIX}/invocation/next":
                # Answered by the environment (possibly from the invoking thread); False: hang up.
                if not self.backend.next_invocation(self) or not request.keep_alive:
                    return
                continue
            if not self.answer(request):
                return

    def _reply(self, status: int, message: str, keep_alive: bool) -> bool:
        close = not keep_alive or status == 413  # an unread body is left behind: hang up
        headers = [("Content-Type", "application/json")]
        self.sock.sendall(http11.response_bytes(status, headers, _status_document(status, message), close=close))
        return not close

    def answer(self, request: http11.Request) -> bool:
        """Answer one request other than `next`; False when the connection must close."""
        keep_alive = request.keep_alive
        if request.method != "POST":
            return self._reply(404, f"unknown path {request.target}", keep_alive)
        match = _INVOCATION_PATH.match(request.target)
        if request.target != f"{PREFIX}/init/error" and not match:
            return self._reply(404, f"unknown path {request.target}", keep_alive)
        try:
            payload = http11.read_body(self.rfile, request, MAX_RUNTIME_RESPONSE, self.sock.sendall)
        except http11.BodyTooLarge:
            if match:
                self.backend.response_too_large(match["id"])
            return self._reply(413, "Response payload too large", keep_alive)
        error_type = request.header(ERROR_TYPE_HEADER)
        if match is None:
            status, message = self.backend.post_init_error(payload, error_type)
            return self._reply(status, message, keep_alive)
        replied: list[bool] = []

        def reply(status: int, message: str) -> None:
            replied.append(self._reply(status, message, keep_alive))

        if match["kind"] == "response":
            self.backend.post_response(match["id"], payload, reply)
        else:
            self.backend.post_error(match["id"], payload, error_type, reply)
        return all(replied)


class RuntimeApiServer:
    """A Runtime API on 127.0.0.1 (a free port) for one execution environment."""

    def __init__(self, backend: Backend, function_arn: str) -> None:
        self._backend = backend
        self._function_arn = function_arn
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._accept_loop, name=f"runtime-api-{self.address}", daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                connection, peer = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                if self._closed:
                    connection.close()
                    return
                self._connections.add(connection)
            threading.Thread(target=self._serve, args=(connection, peer), daemon=True).start()

    def _serve(self, connection: socket.socket, peer: tuple[str, int]) -> None:
        try:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            runtime = _Connection(connection, self._backend, self._function_arn)
            try:
                runtime.serve()
            finally:
                runtime.rfile.close()
        except (OSError, ValueError, http11.BadRequest) as exc:
            # The runtime went away mid-request (or spoke garbage): its environment deals with that.
            log.debug("runtime api connection ended: %s", exc)
        finally:
            with self._lock:
                self._connections.discard(connection)
            with contextlib.suppress(OSError):
                connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections = list(self._connections)
        for sock in [self._listener, *connections]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._listener.close()
