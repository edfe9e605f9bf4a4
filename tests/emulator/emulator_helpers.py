"""Helpers shared by the runner's tests: hand-made build folders and a `serve` process."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from tests.support.artifacts import write_artifact


def build_folder(
    folder: Path,
    files: dict[str, str],
    *,
    handler: str = "app.handler",
    runtime: str = "python3.13",
    architecture: str = "x86_64",
) -> Path:
    """A build folder as `uv-lambda build` writes it: function.zip + function.zip.json."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / "function.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, text in files.items():
            bundle.writestr(name, text)
    write_artifact(
        archive,
        function="hand-made",
        format="zip",
        role="function",
        handler=handler,
        runtime=runtime,
        architecture=architecture,
    )
    return folder


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, response.getheaders(), data


def write_code(folder: Path, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    code = folder / "code.zip"
    with zipfile.ZipFile(code, "w") as bundle:
        bundle.writestr("app.py", source)
    return code


def start_serve(args: list[str], log: Path, cwd: Path | None = None) -> Server:
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "uv_lambda", "serve", "--port", "0", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(os.environ),
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        match = re.search(r"on http://127\.0\.0\.1:(\d+)", log.read_text())
        if match:
            return Server(process, int(match.group(1)), log)
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}: {log.read_text()}")
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"serve did not start: {log.read_text()}")


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
