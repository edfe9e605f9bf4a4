"""A lean HTTP/1.1 request reader and response writer for the runner's two servers.

The standard library's BaseHTTPRequestHandler parses headers with the email package,
which costs more than the rest of a warm invocation's overhead; these servers only need
the request line, the headers as (name, value) pairs in order, and the body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Protocol

_MAX_LINE = 65536
_MAX_HEADERS = 200
REASONS = {status.value: status.phrase for status in HTTPStatus}


class Reader(Protocol):
    """What is read from: a socket's buffered reader."""

    def readline(self, size: int = -1, /) -> bytes: ...

    def read(self, size: int = -1, /) -> bytes: ...


class BadRequest(Exception):
    """The client sent something that is not HTTP/1.x; the connection is closed."""


class BodyTooLarge(Exception):
    """The declared or streamed body is larger than the caller's limit."""


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def keep_alive(self) -> bool:
        connection = (self.header("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"


def _line(rfile: Reader) -> bytes:
    line = rfile.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise BadRequest("line too long")
    return line


def read_head(rfile: Reader) -> Request | None:
    """The request line and headers; None when the client closed the connection."""
    line = _line(rfile)
    while line in (b"\r\n", b"\n"):  # tolerate blank lines between requests
        line = _line(rfile)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {line[:80]!r}")
    headers: list[tuple[str, str]] = []
    while True:
        raw = _line(rfile)
        if raw in (b"\r\n", b"\n", b""):
            break
        if len(headers) >= _MAX_HEADERS:
            raise BadRequest("too many headers")
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest(f"bad header line {raw[:80]!r}")
        headers.append((name.strip(), value.strip()))
    return Request(parts[0], parts[1], parts[2], headers)


def read_body(rfile: Reader, request: Request, limit: int, send: Callable[[bytes], object] | None = None) -> bytes:
    """The body (Content-Length or chunked); BodyTooLarge past `limit` (left unread).

    A client that sent `Expect: 100-continue` (curl does for bodies over 1 MB) waits for
    `100 Continue` before it sends the body; `send` writes that interim response.
    """
    declared = request.header("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    if send is not None and (request.header("expect") or "").lower() == "100-continue":
        send(b"HTTP/1.1 100 Continue\r\n\r\n")
    if (request.header("transfer-encoding") or "").lower() == "chunked":
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                length = int(_line(rfile).split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise BadRequest("bad chunk size") from None
            if length == 0:
                while _line(rfile) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            size += length
            if size > limit:
                raise BodyTooLarge
            chunks.append(_exactly(rfile, length))
            _line(rfile)
    try:
        length = int(request.header("content-length") or 0)
    except ValueError:
        raise BadRequest("bad Content-Length") from None
    if length > limit:
        raise BodyTooLarge
    return _exactly(rfile, length) if length > 0 else b""


def _exactly(rfile: Reader, length: int) -> bytes:
    """`length` bytes, or ConnectionError: a sender that died mid-body sent no request at all."""
    data = rfile.read(length)
    if len(data) != length:
        raise ConnectionError(f"connection closed after {len(data)} of {length} body bytes")
    return data


def response_bytes(
    status: int,
    headers: list[tuple[str, str]] | tuple[tuple[str, str], ...],
    body: bytes,
    *,
    reason: str | None = None,
    close: bool = False,
    head_only: bool = False,
) -> bytes:
    """A whole response in one buffer, so it leaves in one write."""
    lines = [f"HTTP/1.1 {status} {reason or REASONS.get(status, '')}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head if head_only else head + body
