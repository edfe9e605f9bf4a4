"""A lean HTTP/1.1 request parser and response writer for the runner's two servers.

Both servers run on the event loop, so requests are parsed from the bytes as they arrive
(`RequestReader.feed`) rather than read from a blocking stream. The standard library's
header parsing (the email package) costs more than the rest of a warm invocation's
overhead; these servers only need the request line, the headers in order, and the body.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal

_MAX_LINE = 65536  # a chunk-size line
_MAX_HEADERS = 200
_MAX_HEAD = 256 * 1024  # request line and headers
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 5.6.2: a field name or method
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})  # known tokens
_FIELD_LINES = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\n]*(?:\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\n]*)*")
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(rb"[0-9A-Fa-f]+")
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


def _parse_head(head: str) -> tuple[Request, int]:
    """The request of a head (without its final empty line), and its body's length (-1: chunked).

    Framing follows RFC 9112: anything that two parsers could read differently (a request
    smuggling vector) is refused, not guessed at.
    """
    method, target, version, fields_text = _request_line(head)
    headers, fields, lengths, codings = _header_fields(fields_text)
    request = Request(method, target, version, headers, fields, _keep_alive(version, fields))
    if not codings and len(lengths) == 1:
        declared = lengths[0].strip(" \t")
        # ASCII digits only: str.isdigit() also takes "\u00b2" and "\u0661", which int() refuses or reads.
        if declared.isascii() and declared.isdigit() and len(declared) <= 18:
            return request, int(declared)
    return request, _body_length(request, lengths, codings)


def _request_line(head: str) -> tuple[str, str, str, str]:
    """(method, target, version, the header lines) of a head, its line ends made "\n"."""
    if "\r" in head:
        head = head.replace("\r\n", "\n")
        if "\r" in head:
            raise BadRequest("a bare CR in the request head")
    if "\0" in head:
        raise BadRequest("a NUL in the request head")
    request_line, _, fields_text = head.partition("\n")
    parts = request_line.split()
    if (
        len(parts) != 3
        or not parts[2].startswith("HTTP/1.")
        or (parts[0] not in _METHODS and not _TOKEN.fullmatch(parts[0]))
    ):
        raise BadRequest(f"bad request line {request_line[:80]!r}")
    method, target, version = parts
    return method, target, version, fields_text


def _header_fields(
    fields_text: str,
) -> tuple[list[tuple[str, str]], dict[str, str], list[str], list[str]]:
    """The headers in order, the first value of each name, and the Content-Length and
    Transfer-Encoding values (split at commas) that frame the body."""
    # Every line is `token:value`, checked in one pass: this refuses a space before the colon
    # and obs-fold (a line that starts with a space or tab), as RFC 9112 5 says.
    if fields_text and not _FIELD_LINES.fullmatch(fields_text):
        bad = next(line for line in fields_text.split("\n") if not _FIELD_LINES.fullmatch(line))
        raise BadRequest(f"bad header line {bad[:80]!r}")
    lines = fields_text.split("\n") if fields_text else []
    if len(lines) > _MAX_HEADERS:
        raise BadRequest("too many headers")
    headers: list[tuple[str, str]] = []
    fields: dict[str, str] = {}
    lengths: list[str] = []
    codings: list[str] = []
    for line in lines:
        name, _, value = line.partition(":")
        value = value.strip(" \t")
        headers.append((name, value))
        lowered = name.lower()
        fields.setdefault(lowered, value)
        if lowered == "content-length":
            lengths += value.split(",")
        elif lowered == "transfer-encoding":
            codings += value.split(",")
    return headers, fields, lengths, codings


def _keep_alive(version: str, fields: dict[str, str]) -> bool:
    connection = fields.get("connection")
    if connection is None:
        return version != "HTTP/1.0"
    tokens = {token.strip().lower() for token in connection.split(",")}
    return "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens


def _body_length(request: Request, lengths: list[str], codings: list[str]) -> int:
    """Content-Length, or -1 for a chunked body (RFC 9112 6.1-6.3)."""
    if codings:
        if [coding.strip(" \t").lower() for coding in codings] != ["chunked"]:
            # Only `chunked` is decoded here; anything else, or chunked twice or not last,
            # leaves the body's end unknown.
            raise BadRequest(f"unsupported Transfer-Encoding {', '.join(codings)!r}")
        if lengths:
            raise BadRequest("both Transfer-Encoding and Content-Length")
        if request.version == "HTTP/1.0":
            raise BadRequest("Transfer-Encoding in an HTTP/1.0 request")
        return -1
    if not lengths:
        return 0
    values = {value.strip(" \t") for value in lengths}
    if len(values) != 1:
        raise BadRequest(f"conflicting Content-Length values {sorted(values)!r}")
    (declared,) = values
    if not _DIGITS.fullmatch(declared):
        raise BadRequest(f"bad Content-Length {declared[:40]!r}")
    significant = declared.lstrip("0")
    if len(significant) > 18:  # over any limit; int() of thousands of digits is slow or refused
        raise BodyTooLarge(request)
    return int(significant or "0")


def _chunk_size(line: bytes | bytearray) -> int:
    """The size of a chunk-size line (without its line end): hex digits, then extensions."""
    size = line.partition(b";")[0].strip(b" \t")
    if not _HEX.fullmatch(size):
        raise BadRequest(f"bad chunk size {bytes(line[:40])!r}")
    if len(size) > 15:
        raise BadRequest("chunk size too large")
    return int(size, 16)


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
        # A chunked body in progress: the data so far, and the bytes left of the current
        # chunk (-1: a size line comes next, -2: the trailers). Kept between calls, so each
        # byte is parsed once however the body is split into packets.
        self._chunks = bytearray()
        self._chunk_left = -1

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> bool:
        return bool(self._buffer)

    @property
    def pending(self) -> bool:
        """A request has started arriving but is not complete."""
        return self._head is not None or bool(self._buffer.strip(b"\r\n"))

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
        request, self._length = _parse_head(head)
        if self._length > self._limit:
            raise BodyTooLarge(request)
        if self._length < 0:
            self._chunks = bytearray()
            self._chunk_left = -1
        if "expect" in request.fields and request.fields["expect"].lower() == "100-continue":
            self._send(_CONTINUE)
        return request

    def _read_chunked(self, request: Request) -> bytes | None:
        """The whole chunked body once it has arrived, else None (the bytes so far are kept)."""
        buffer = self._buffer
        position = 0
        try:
            while True:
                if self._chunk_left >= 0:
                    after = self._take_chunk_data(position)
                    if after is None:
                        return None
                    position = after
                    continue
                end = buffer.find(b"\n", position)
                if end < 0:
                    if len(buffer) - position > _MAX_LINE:
                        raise BadRequest("chunk size line too long")
                    return None
                line = buffer[position : end - 1 if end > position and buffer[end - 1] == 13 else end]
                position = end + 1
                if self._chunk_left == -2:  # trailers (ignored), up to an empty line
                    if not line:
                        body = bytes(self._chunks)
                        self._chunks = bytearray()
                        self._chunk_left = -1
                        return body
                    continue
                length = _chunk_size(line)
                if len(self._chunks) + length > self._limit:
                    raise BodyTooLarge(request)
                self._chunk_left = length if length else -2  # a zero-size chunk ends the data
        finally:
            del buffer[:position]

    def _take_chunk_data(self, position: int) -> int | None:
        """Add the current chunk's data at `position` to the body: the position after its line
        end, or None until the data and its line end have arrived."""
        buffer = self._buffer
        end = position + self._chunk_left
        if len(buffer) < end + 1 or (buffer[end] == 13 and len(buffer) < end + 2):
            return None
        if buffer[end] == 13:
            if buffer[end + 1] != 10:
                raise BadRequest("chunk data not followed by a line end")
            after = end + 2
        elif buffer[end] == 10:
            after = end + 1
        else:
            raise BadRequest("chunk data longer than its size")
        self._chunks += buffer[position:end]
        self._chunk_left = -1
        return after


def response_bytes(
    status: int,
    headers: list[tuple[str, str]] | tuple[tuple[str, str], ...],
    body: bytes,
    *,
    reason: str | None = None,
    connection: Literal["close", "keep-alive"] | None = None,
    head_only: bool = False,
) -> bytes:
    """A whole response in one buffer, so it leaves in one write.

    `connection` is the Connection header, if any: `close` before the server closes the
    connection; `keep-alive` for an HTTP/1.0 client, which needs to hear it to reuse the
    connection (without it, `ab -k` waits for the server to close).
    """
    lines = [f"HTTP/1.1 {status} {reason or REASONS.get(status, '')}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers]
    if connection:
        lines.append(f"Content-Length: {len(body)}\r\nConnection: {connection}\r\n\r\n")
    else:
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
    head = "".join(lines).encode("latin-1", "replace")
    return head if head_only else head + body
