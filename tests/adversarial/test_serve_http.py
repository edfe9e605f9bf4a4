"""Malformed and hostile HTTP sent to `uv-lambda serve` over raw sockets (RFC 9112): each is a
400 (or 413) and a closed connection, never a dropped connection or a stall, and a normal
request still gets its answer afterwards. One real server serves the whole module."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from local_run_helpers import (
    ZIP_ARGS,
    Serving,
    assert_no_scratch,
    connect,
    read_response,
    read_responses,
    read_until_closed,
    status_of,
    write_zip,
)

FUNCTION = r'''
import base64, json, os, socket

def _runtime_garbage():
    """Speak broken HTTP to this environment's own Runtime API; report what came back."""
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
    answers = []
    for head in (
        b"POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n",
        b"POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(head)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            answers.append(data.decode("latin-1"))
    return answers

def handler(event, context):
    path = event.get("rawPath", "/")
    if path == "/inject":
        return {"statusCode": 200, "headers": {"x-echo": "a\r\nX-Injected: 1"}, "body": "split"}
    if path == "/bad-name":
        return {"statusCode": 200, "headers": {"bad name": "x"}, "body": "bad"}
    if path == "/runtime-garbage":
        return {"statusCode": 200, "body": json.dumps(_runtime_garbage())}
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("latin-1")
    return {"statusCode": 200, "body": json.dumps({"path": path, "length": len(body)})}
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    folder = tmp_path_factory.mktemp("serve-http")
    code = write_zip(folder / "code.zip", [("app.py", FUNCTION)])
    serving = Serving(["--artifact", code, *ZIP_ARGS, "--concurrency", "2"], folder)
    yield serving
    log = serving.stop()
    # No handler crashed on what the clients sent, and the unpacked function was removed.
    assert "Traceback" not in log and "Fatal error" not in log, log
    assert_no_scratch(serving.tmp)


def still_answers(server: Serving) -> None:
    status, body = server.get("/after")
    assert status == 200 and json.loads(body)["path"] == "/after", body


def send_raw(server: Serving, data: bytes) -> bytes:
    with connect(server.port) as sock:
        sock.sendall(data)
        return read_until_closed(sock)


# What a client sends, and the status it must get (the connection is closed afterwards).
_MALFORMED: dict[str, tuple[bytes, int]] = {
    "cl-superscript-two": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \xb2\r\n\r\n", 400),
    "cl-arabic-indic": ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \u0663\r\n\r\nabc".encode(), 400),
    "cl-fullwidth": ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \uff13\r\n\r\nabc".encode(), 400),
    "cl-negative": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    "cl-plus": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400),
    "cl-hex": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc", 400),
    "cl-conflicting": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    "cl-conflicting-list": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd", 400),
    "cl-5000-digits": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", 413),
    "cl-over-limit": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n", 413),
    "space-before-colon": (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    "tab-before-colon": (b"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400),
    "obs-fold": (b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n  continued\r\n\r\n", 400),
    "obs-fold-tab": (b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n\tcontinued\r\n\r\n", 400),
    "empty-name": (b"GET / HTTP/1.1\r\nHost: x\r\n: value\r\n\r\n", 400),
    "no-colon": (b"GET / HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n", 400),
    "bare-cr-in-value": (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r2\r\n\r\n", 400),
    "nul-in-value": (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\x002\r\n\r\n", 400),
    "te-gzip": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    "te-chunked-not-last": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    "te-gzip-chunked": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400),
    "te-chunked-twice": (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "te-and-cl": (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        400,
    ),
    "te-in-http-1.0": (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    "chunk-size-not-hex": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    "chunk-size-negative": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n", 400),
    "chunk-size-empty": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\nabc\r\n", 400),
    "chunk-longer-than-size": (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        400,
    ),
    "chunked-over-limit": (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nA00001\r\n",
        413,
    ),
    "garbage-request-line": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    "http2-preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
    "bad-method": (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "unclosed-ipv6-target": (b"GET http://[::1/x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "head-too-long": (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (300 * 1024) + b"\r\n\r\n", 400),
    "too-many-headers": (b"GET / HTTP/1.1\r\n" + b"X-A: 1\r\n" * 300 + b"\r\n", 400),
}


@pytest.mark.parametrize("case", sorted(_MALFORMED))
def test_malformed_requests(server: Serving, case: str) -> None:
    data, status = _MALFORMED[case]
    response = send_raw(server, data)
    assert status_of(response) == status, response[:300]
    assert b"\r\nConnection: close\r\n" in response
    still_answers(server)


def test_expect_continue_over_the_limit_gets_413_without_continue(server: Serving) -> None:
    response = send_raw(
        server, b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 20000000\r\n\r\n"
    )
    assert status_of(response) == 413 and b"100 Continue" not in response, response
    still_answers(server)


@pytest.mark.parametrize(
    ("path", "hidden"),
    [pytest.param("/inject", b"X-Injected", id="crlf-in-value"), pytest.param("/bad-name", b"bad name", id="name")],
)
def test_function_headers_cannot_split_the_response(server: Serving, path: str, hidden: bytes) -> None:
    """A header the function returns that would end the head early is a 502, as API Gateway gives."""
    with connect(server.port) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        status, headers, body = read_response(sock)
    assert status == 502, (status, headers, body)
    assert hidden.decode().lower() not in headers and hidden not in body
    still_answers(server)


def test_garbage_sent_to_the_runtime_api(server: Serving) -> None:
    """The Runtime API shares the parser: a function that speaks broken HTTP to it is hung up
    on, without a crash in the server, and its own invocation still completes."""
    status, body = server.get("/runtime-garbage")
    assert status == 200, body
    assert json.loads(body) == ["", ""]  # closed without an answer: the environment deals with it
    still_answers(server)


def test_pipelined_requests_are_answered_in_order(server: Serving) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        first, second = read_responses(sock, 2)
    assert [json.loads(response[2])["path"] for response in (first, second)] == ["/one", "/two"]


def test_a_chunked_body_with_extensions_and_trailers(server: Serving) -> None:
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
            b"5;name=value\r\nhello\r\n1\r\n!\r\n0\r\nX-Trailer: 1\r\n\r\n"
        )
        status, _, body = read_response(sock)
    assert (status, json.loads(body)) == (200, {"path": "/c", "length": 6})


def test_http_1_0_keep_alive_is_honoured(server: Serving) -> None:
    """`ab -k` speaks HTTP/1.0 with Connection: Keep-Alive and waits to hear it back."""
    with connect(server.port) as sock:
        for path in ("/k1", "/k2"):
            sock.sendall(f"GET {path} HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n".encode())
            status, headers, body = read_response(sock)
            assert (status, headers.get("connection"), json.loads(body)["path"]) == (200, "keep-alive", path)
        sock.sendall(b"GET /k3 HTTP/1.0\r\n\r\n")  # without keep-alive: answered, then closed
        rest = read_until_closed(sock, limit=5)
    assert status_of(rest) == 200 and b"\r\nConnection: close\r\n" in rest


def test_http_1_1_close_is_honoured(server: Serving) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response = read_until_closed(sock, limit=5)
    assert status_of(response) == 200


@pytest.mark.slow  # waits for the idle timeout (5 s)
def test_idle_connections_time_out(server: Serving) -> None:
    fresh, used = connect(server.port, timeout=20), connect(server.port, timeout=20)
    with fresh, used:
        used.sendall(b"GET /used HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(used)[0] == 200
        start = time.monotonic()
        assert read_until_closed(fresh, limit=15) == b""
        assert read_until_closed(used, limit=15) == b""
        assert time.monotonic() - start < 12
    still_answers(server)


def test_a_slow_client_does_not_hold_up_others(server: Serving) -> None:
    """A head that never ends (slowloris) and abandoned connections leave the server serving."""
    slow = connect(server.port)
    abandoned = [connect(server.port) for _ in range(50)]
    try:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        for sock in abandoned[:25]:
            sock.sendall(b"GET / HTTP/1.1\r\n")
        for sock in abandoned:
            sock.close()
        start = time.monotonic()
        still_answers(server)
        assert time.monotonic() - start < 5
    finally:
        slow.close()


def test_a_body_in_one_byte_chunks_does_not_stall_others(server: Serving) -> None:
    """1 MB sent as 1-byte chunks (6 MB on the wire) is parsed in linear time: other requests
    are answered meanwhile, and the body arrives whole."""
    wire = b"POST /bytes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\nx\r\n" * (1 << 20)
    answer: list[tuple[int, dict[str, str], bytes]] = []

    def upload() -> None:
        with connect(server.port, timeout=60) as sock:
            sock.sendall(wire)
            sock.sendall(b"0\r\n\r\n")
            answer.append(read_response(sock, limit=60))

    uploader = threading.Thread(target=upload, daemon=True)
    started = time.monotonic()
    uploader.start()
    latencies = []
    while uploader.is_alive() and len(latencies) < 50 and time.monotonic() - started < 60:
        begin = time.monotonic()
        still_answers(server)
        latencies.append(time.monotonic() - begin)
    uploader.join(timeout=60)
    assert answer, "the upload got no answer within 60 s"
    status, _, body = answer[0]
    assert (status, json.loads(body)) == (200, {"path": "/bytes", "length": 1 << 20})
    assert max(latencies) < 2.5, latencies


def test_a_client_that_resets_mid_request(server: Serving) -> None:
    sock = connect(server.port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
    sock.close()  # SO_LINGER 0: a RST, not a FIN
    still_answers(server)
