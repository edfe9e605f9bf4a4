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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.artifacts import write_artifact

from uv_lambda.emulator.function import LocalFunction

# The conftest's factories: a zip of files, and a LocalFunction from a handler's source.
ZipMaker = Callable[..., Path]
FunctionMaker = Callable[..., LocalFunction]


def write_zip(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = zipfile.ZipInfo(name)
            # Files under bin/ are executables (a layer's /opt/bin tools).
            info.external_attr = (0o755 if name.startswith("bin/") else 0o644) << 16
            archive.writestr(info, data)
    return path


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

    def lambda_client(self) -> Any:
        """A boto3 Lambda client pointed at this server, with fake credentials."""
        import boto3

        return boto3.client(
            "lambda",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request on a new connection: (status, headers, body)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
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


def start_serve(args: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> Server:
    """`uv-lambda serve --port 0 ARGS` on 127.0.0.1, its output in `log`, `env` added to ours."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "uv_lambda", "serve", "--port", "0", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, **(env or {})},
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
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


class Serving:
    """A `uv-lambda serve` with a TMPDIR of its own (`folder`/tmp), so that what it leaves
    there can be checked after it stopped."""

    def __init__(self, args: list[str | os.PathLike[str]], folder: Path) -> None:
        self.tmp = folder / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.log = folder / "serve.log"
        self.server = start_serve([str(arg) for arg in args], self.log, env={"TMPDIR": str(self.tmp)})
        self.port = self.server.port
        self.process = self.server.process

    def get(self, path: str = "/", timeout: float = 30) -> tuple[int, bytes]:
        status, _, body = self.server.request("GET", path, timeout=timeout)
        return status, body

    def stop(self) -> str:
        """SIGTERM, wait, and return the log."""
        stop(self.server)
        return self.log.read_text()
