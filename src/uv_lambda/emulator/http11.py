"""A lean HTTP/1.1 request parser and response writer for the runner's two servers.

Both servers run on the event loop, so requests are parsed from the bytes as they arrive
(`RequestReader.feed`) rather than read from a blocking stream. The standard library's
header parsing (the email package) costs more than the rest of a warm invocation's
overhead; these servers only need the request line, the headers in order, and the body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

_MAX_LINE = 65536  # a chunk-size line
_MAX_HEADERS = 200
_MAX_HEAD = 256 * 1024  # request line and headers
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
REASONS = {status.value: status.phrase for status in HTTPStatus}


class BadRequest(Exception):
    """The client sent something that is not HTTP/1.x; the connection is closed."""


class BodyTooLarge(Exception):
    """The declared or streamed body is larger than the caller's limit (the body is left unread)."""

    def __init__(self, request: Request) -> None:
        super().__init__(f"{request.method} {request.target}: body too large")
        self.request = request


@dataclass(slots=True)
class Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]  # in order, names as sent, duplicates kept
    fields: dict[str, str]  # lowercased name -> the first value: what `header` looks up
    keep_alive: bool
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.fields.get(name.lower())


def _parse_head(head: str) -> Request:
    lines = head.split("\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {lines[0][:80]!r}")
    if len(lines) > _MAX_HEADERS + 1:
        raise BadRequest("too many headers")
    headers: list[tuple[str, str]] = []
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise BadRequest(f"bad header line {line[:80]!r}")
        name, value = name.strip(), value.strip()
        headers.append((name, value))
        fields.setdefault(name.lower(), value)
    connection = fields.get("connection", "").lower()
    version = parts[2]
    keep_alive = connection == "keep-alive" if version == "HTTP/1.0" else connection != "close"
    return Request(parts[0], parts[1], version, headers, fields, keep_alive)


class RequestReader:
    """The requests of one connection, parsed from its bytes as they arrive.

    `send` writes the interim `100 Continue` a client that sent `Expect: 100-continue` (curl
    does for bodies over 1 MB) waits for before it sends the body.
    """

    def __init__(self, body_limit: int, send: Callable[[bytes], object]) -> None:
        self._limit = body_limit
        self._send = send
        self._buffer = bytearray()
        self._head: Request | None = None  # parsed, its body not complete yet
        self._length = 0  # the body's Content-Length, or -1 for a chunked body

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> bool:
        return bool(self._buffer)

    def next_request(self) -> Request | None:
        """The next complete request, or None until more bytes arrive.

        Raises BadRequest, or BodyTooLarge before reading a body over the limit.
        """
        request = self._head
        if request is None:
            if not self._buffer:
                return None
            request = self._read_head()
            if request is None:
                return None
        length = self._length
        if length > 0:
            buffer = self._buffer
            if len(buffer) < length:
                self._head = request
                return None
            request.body = bytes(buffer[:length])
            del buffer[:length]
        elif length < 0:
            body = self._read_chunked(request)
            if body is None:
                self._head = request
                return None
            request.body = body
        self._head = None
        return request

    def _read_head(self) -> Request | None:
        buffer = self._buffer
        if buffer[0] in b"\r\n":  # blank lines between requests are tolerated
            start = 0
            while buffer.startswith(b"\r\n", start) or buffer.startswith(b"\n", start):
                start += 2 if buffer[start] == 13 else 1
            del buffer[:start]
        # The head ends at the first empty line; a line ends with "\r\n" (or a bare "\n").
        end = buffer.find(b"\r\n\r\n")
        bare = buffer.find(b"\n\n", 0, len(buffer) if end < 0 else end)
        if bare >= 0:
            end, body_start = bare, bare + 2
        elif end >= 0:
            body_start = end + 4
        else:
            if len(buffer) > _MAX_HEAD:
                raise BadRequest("request head too long")
            return None
        if end > _MAX_HEAD:
            raise BadRequest("request head too long")
        head = buffer[:end].decode("latin-1")
        del buffer[:body_start]
        request = _parse_head(head.replace("\r", "") if "\r" in head else head)
        fields = request.fields
        if "transfer-encoding" in fields and fields["transfer-encoding"].lower() == "chunked":
            self._length = -1
        else:
            declared = fields.get("content-length", "0")
            if not declared.isdigit():
                raise BadRequest("bad Content-Length")
            self._length = int(declared)
            if self._length > self._limit:
                raise BodyTooLarge(request)
        if "expect" in fields and fields["expect"].lower() == "100-continue":
            self._send(_CONTINUE)
        return request

    def _read_chunked(self, request: Request) -> bytes | None:
        """The whole chunked body once it has arrived (scanned from the start each time)."""
        buffer = self._buffer
        position = 0
        spans: list[tuple[int, int]] = []
        size = 0
        while True:
            end = buffer.find(b"\n", position)
            if end < 0:
                if len(buffer) - position > _MAX_LINE:
                    raise BadRequest("chunk size line too long")
                return None
            try:
                length = int(bytes(buffer[position:end]).split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise BadRequest("bad chunk size") from None
            position = end + 1
            if length == 0:
                while True:  # trailers, up to an empty line
                    end = buffer.find(b"\n", position)
                    if end < 0:
                        return None
                    line = bytes(buffer[position:end])
                    position = end + 1
                    if line in (b"", b"\r"):
                        body = b"".join(bytes(buffer[a:b]) for a, b in spans)
                        del buffer[:position]
                        return body
            size += length
            if size > self._limit:
                raise BodyTooLarge(request)
            end = buffer.find(b"\n", position + length)  # the line end after the chunk's data
            if end < 0:
                return None
            spans.append((position, position + length))
            position = end + 1


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
    lines = [f"HTTP/1.1 {status} {reason or REASONS.get(status, '')}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers]
    lines.append(
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n" if close else f"Content-Length: {len(body)}\r\n\r\n"
    )
    head = "".join(lines).encode("latin-1", "replace")
    return head if head_only else head + body
