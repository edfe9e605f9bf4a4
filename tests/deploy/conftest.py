"""Fixtures for deploy tests: a real moto_server on 127.0.0.1, a recording proxy in front of it.

Every deploy goes through `--endpoint-url <proxy>`; nothing patches boto3. Assertions about
the resulting state use boto3 clients pointed straight at moto, so they are not recorded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import REGION, RecordingProxy

from uv_lambda import proc
from uv_lambda.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _moto_server_path() -> str:
    candidate = Path(sys.executable).with_name("moto_server")
    return str(candidate) if candidate.exists() else "moto_server"


@dataclass
class Moto:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, path: str, document: dict[str, Any]) -> None:
        request = urllib.request.Request(self.url + path, data=json.dumps(document).encode(), method="POST")
        urllib.request.urlopen(request, timeout=30).read()

    def reset(self) -> None:
        self.post("/moto-api/reset", {})


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = proc.spawn(
        [_moto_server_path(), "-H", "127.0.0.1", "-p", str(port)],
        # Without it attaching AWSLambdaBasicExecutionRole fails with NoSuchEntity.
        extra_env={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
        stdout=log.fileno(),
        stderr=subprocess.STDOUT,
    )
    moto = Moto(port, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(moto.url + "/moto-api/data.json", timeout=2).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto_server did not start (exit {process.poll()})") from None
            time.sleep(0.1)
    try:
        yield moto
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def no_docker(moto_server: Moto) -> Iterator[None]:
    """moto's stand-in answers Invoke instead of running the function in Docker (there is no
    Docker engine here); switched off again after the test, as it answers for any name."""
    moto_server.post("/moto-api/config", {"lambda": {"use_docker": False}})
    try:
        yield
    finally:
        moto_server.post("/moto-api/config", {"lambda": {"use_docker": True}})


@pytest.fixture(scope="session")
def recording_proxy(moto_server: Moto) -> Iterator[RecordingProxy]:
    proxy = RecordingProxy(moto_server.port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and a region; no real AWS configuration can leak in."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def proxy(moto_server: Moto, recording_proxy: RecordingProxy, aws_env: None) -> RecordingProxy:
    """A clean moto behind a clean proxy for each test."""
    moto_server.reset()
    recording_proxy.reset()
    return recording_proxy


@dataclass
class Clients:
    """boto3 clients straight to moto, for checking the state a deploy left."""

    lam: Any
    iam: Any
    s3: Any


@pytest.fixture
def clients(moto_server: Moto, aws_env: None) -> Clients:
    import boto3

    session = boto3.session.Session(region_name=REGION)
    return Clients(
        session.client("lambda", endpoint_url=moto_server.url),
        session.client("iam", endpoint_url=moto_server.url),
        session.client("s3", endpoint_url=moto_server.url),
    )


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def deploy_cli(capsys: pytest.CaptureFixture[str], proxy: RecordingProxy) -> Any:
    """Run `uv-lambda <command> ... --endpoint-url <proxy>` in this process."""

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        command, *rest = (str(arg) for arg in args)
        code = main([command, *rest, "--endpoint-url", proxy.url, "--region", REGION])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
