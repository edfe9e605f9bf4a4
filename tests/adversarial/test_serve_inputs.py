"""Bad flags and artifacts given to `serve`, and clients that trickle bytes: one-line errors
with exit 2 and nothing left behind; a 408 for a request that never completes."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_run_helpers import (
    HANDLER,
    ZIP_ARGS,
    assert_refused,
    connect,
    read_response,
    read_until_closed,
    run,
    status_of,
    write_zip,
)

from uv_lambda.config import FunctionConfig
from uv_lambda.emulator.environment import InvocationResult
from uv_lambda.emulator.function import LocalFunction, RunOptions
from uv_lambda.emulator.http_server import LambdaHttpServer, ServerOptions
from uv_lambda.emulator.pool import ResultCallback
from uv_lambda.model import Function


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "code.zip", [("app.py", HANDLER)])


@pytest.mark.parametrize(
    ("flags", "needle", "hint"),
    [
        pytest.param(["--port", "99999"], "--port 99999 is not a port number", "1 to 65535", id="port-99999"),
        pytest.param(["--port", "-1"], "--port -1 is not a port number", "1 to 65535", id="port-negative"),
        pytest.param(["--concurrency", "0"], "--concurrency 0 is out of range", "1 to 64", id="concurrency-0"),
        pytest.param(["--concurrency", "65"], "--concurrency 65 is out of range", "1 to 64", id="concurrency-65"),
        pytest.param(["--watch"], "--watch rebuilds the project", "drop one", id="watch-artifact"),
        pytest.param(["--timeout", "1000"], "--timeout 1000 is out of range", "1 to 900", id="timeout"),
    ],
)
def test_bad_flags(tmp_path: Path, code: Path, flags: list[str], needle: str, hint: str) -> None:
    result = run("serve", "--artifact", code, *ZIP_ARGS, *flags, tmp=tmp_path / "tmp", timeout=60)
    assert_refused(result, 2, needle, hint=hint)


def test_a_port_that_is_not_a_number(tmp_path: Path, code: Path) -> None:
    result = run("serve", "--artifact", code, *ZIP_ARGS, "--port", "http", tmp=tmp_path / "tmp", timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "argument --port: invalid int value: 'http'" in result.stderr


def test_a_port_in_use(tmp_path: Path, code: Path) -> None:
    """The function is unpacked before the port is found taken: it is removed again."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run("serve", "--artifact", code, *ZIP_ARGS, "--port", str(port), tmp=tmp_path / "tmp", timeout=60)
    assert_refused(result, 2, f"port {port} on 127.0.0.1 is in use", hint="--port")


def test_a_hostile_artifact_is_refused_before_serving(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "code.zip", [("app.py", HANDLER), ("app.py/x", "y")])
    result = run("serve", "--artifact", code, *ZIP_ARGS, tmp=tmp_path / "tmp", timeout=60)
    assert_refused(result, 2, "'app.py/x' under 'app.py'")
    assert "serving" not in result.stderr


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LambdaHttpServer]:
    """The real server and a real function, in this process, with short timeouts."""
    code = write_zip(tmp_path_factory.mktemp("quick") / "code.zip", [("app.py", HANDLER)])
    config = FunctionConfig(name="quick", handler="app.handler", runtime="python3.13", concurrency=1)
    function = LocalFunction.open(Function.configured(config), code, [], RunOptions(pass_credentials=False))

    def submit(payload: bytes, client_context: str | None, on_done: ResultCallback) -> None:
        function.submit(payload, on_done, client_context=client_context, checked=True)

    def report(result: InvocationResult) -> None:
        pass

    server = LambdaHttpServer(
        0, "quick", submit, options=ServerOptions(idle_timeout=0.5, request_timeout=1.0), report=report
    )
    server.start()
    yield server
    server.close()
    function.close()


def test_a_trickled_request_gets_408(quick_server: LambdaHttpServer) -> None:
    """Bytes that keep coming, but never a whole head: the request timer is not reset by them."""
    with connect(quick_server.port) as sock:
        start = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        for _ in range(4):  # within the idle timeout each time, past the request timeout in all
            time.sleep(0.3)
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
        response = read_until_closed(sock, limit=10)
        elapsed = time.monotonic() - start
    assert status_of(response) == 408 and 0.9 < elapsed < 5, (response, elapsed)


def test_a_body_that_never_completes_gets_408(quick_server: LambdaHttpServer) -> None:
    with connect(quick_server.port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        assert status_of(read_until_closed(sock, limit=10)) == 408


def test_an_idle_keep_alive_connection_is_closed(quick_server: LambdaHttpServer) -> None:
    with connect(quick_server.port) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body = read_response(sock)
        assert status == 200 and json.loads(body)["ok"]["rawPath"] == "/a"
        start = time.monotonic()
        assert read_until_closed(sock, limit=10) == b""
        assert 0.4 < time.monotonic() - start < 5
