"""Helpers for the attacks on local runs (`invoke`, `serve`) and image inputs: run the real
command with a private TMPDIR, and check that it failed the way the project promises."""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

HANDLER = "def handler(event, context):\n    return {'ok': event}\n"
ZIP_ARGS = ("--handler", "app.handler", "--runtime", "python3.13")


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    tmp: Path  # the TMPDIR the command had: what it left there


def run(*args: str | os.PathLike[str], tmp: Path, stdin: bytes | None = None, timeout: float = 120) -> Run:
    """`uv-lambda ARGS` with TMPDIR=tmp (created), so its scratch can be inspected afterwards."""
    tmp.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [sys.executable, "-m", "uv_lambda", *map(str, args)],
        input=stdin,
        env={**os.environ, "TMPDIR": str(tmp)},
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return Run(
        completed.returncode,
        completed.stdout.decode(errors="replace"),
        completed.stderr.decode(errors="replace"),
        tmp,
    )


def assert_refused(result: Run, code: int, *needles: str, hint: str | None = None) -> None:
    """Exit `code`, one `error:` line holding each needle, a hint (holding `hint`), no traceback,
    and no scratch left behind in the command's TMPDIR."""
    stderr = result.stderr
    assert result.returncode == code, (result.returncode, stderr)
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    for needle in needles:
        assert needle in errors[0], stderr
    hints = [line for line in stderr.splitlines() if line.startswith("hint:")]
    assert len(hints) == 1, stderr
    if hint is not None:
        assert hint in hints[0], stderr
    assert_no_scratch(result.tmp)


def assert_no_scratch(tmp: Path) -> None:
    left = sorted(path.name for path in tmp.iterdir()) if tmp.exists() else []
    assert left == [], f"left behind in TMPDIR: {left}"


def write_zip(path: Path, entries: list[tuple[str, bytes | str]]) -> Path:
    """A zip with exactly these entries, in this order (names as given, duplicates kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries:
            archive.writestr(zipfile.ZipInfo(name), content)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Serving:
    """A real `uv-lambda serve` process on 127.0.0.1, with its own TMPDIR and log."""

    def __init__(self, args: list[str | os.PathLike[str]], folder: Path) -> None:
        self.tmp = folder / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.log = folder / "serve.log"
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uv_lambda", "serve", "--port", "0", *map(str, args)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "TMPDIR": str(self.tmp)},
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            match = re.search(r"on http://127\.0\.0\.1:(\d+)", self.log.read_text())
            if match:
                self.port = int(match.group(1))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.process.kill()
        raise AssertionError(f"serve did not start: {self.log.read_text()}")

    def get(self, path: str = "/", timeout: float = 30) -> tuple[int, bytes]:
        """A normal request on a new connection: (status, body)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> str:
        """SIGTERM, wait, and return the log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log.read_text()


def connect(port: int, timeout: float = 10) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_until_closed(sock: socket.socket, limit: float = 15) -> bytes:
    """Everything the server sends until it closes (at most `limit` seconds, 10,000 reads)."""
    data = bytearray()
    deadline = time.monotonic() + limit
    for _ in range(10_000):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"the server did not close within {limit} s; got {bytes(data[:200])!r}") from None
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return bytes(data)


def read_response(sock: socket.socket, limit: float = 15) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length body: (status, headers lowercased, body)."""
    return read_responses(sock, 1, limit)[0]


def read_responses(sock: socket.socket, count: int, limit: float = 15) -> list[tuple[int, dict[str, str], bytes]]:
    """`count` responses in a row from one buffer: pipelined answers may arrive in one recv."""
    data = bytearray()
    responses: list[tuple[int, dict[str, str], bytes]] = []
    deadline = time.monotonic() + limit
    for _ in range(10_000):
        while (response := _take_response(data)) is not None:
            responses.append(response)
            if len(responses) == count:
                return responses
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"closed before a whole response: {bytes(data[:200])!r}")
        data += chunk
    raise AssertionError("no whole response")


def _take_response(data: bytearray) -> tuple[int, dict[str, str], bytes] | None:
    """The first whole response in `data`, removed from it; None while it is incomplete."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if len(data) < end + 4 + length:
        return None
    body = bytes(data[end + 4 : end + 4 + length])
    del data[: end + 4 + length]
    return int(head[0].split()[1]), headers, body


def status_of(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 "), response[:200]
    return int(response.split(b" ", 2)[1])
