"""The network between deploy and AWS: resets, lost answers, a silent endpoint, bad URLs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import REGION, RecordingProxy, make_project, write_split_build

from uv_lambda.cli import main
from uv_lambda.deploy import aws as aws_module

FLAGS = ("--no-build", "--yes")


def test_timeouts_suit_lambdas_api() -> None:
    # Bounded: a silent endpoint fails after network_attempts x READ_TIMEOUT, a few minutes at most.
    assert aws_module.CONNECT_TIMEOUT <= 10
    assert 30 <= aws_module.READ_TIMEOUT <= 60  # room for a 50 MB inline upload's answer
    assert aws_module.RetryPolicy().network_attempts * aws_module.READ_TIMEOUT <= 180


@pytest.mark.slow
def test_resets_and_a_timed_out_read_are_retried_without_duplicates(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Long enough that moto's own answers arrive in time on a loaded machine; the stalls exceed it.
    monkeypatch.setattr(aws_module, "READ_TIMEOUT", 3.0)
    project = make_project(tmp_path / "p")
    write_split_build(project)
    proxy.drop("GetFunction", 2)  # the first two connections are reset
    proxy.drop("GetRole", 1, stall=4.0)  # a read that times out
    # Sent, done by AWS, and the answer never comes: the retry must find the layer, not publish again.
    proxy.drop("PublishLayerVersion", 1, stall=4.0, after_forwarding=True)
    proxy.drop("CreateFunction", 1, after_forwarding=True)

    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 0, result.err
    operations = proxy.operations()
    assert operations.count("GetFunction") >= 3 and operations.count("GetRole") >= 2
    versions = clients.lam.list_layer_versions(LayerName="hello-dependencies")["LayerVersions"]
    assert [v["Version"] for v in versions] == [1]
    assert proxy.writes().count("CreateFunction") == 1  # the recheck found it
    assert clients.lam.get_function(FunctionName="hello")["Configuration"]["State"] == "Active"
    proxy.reset()
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    assert proxy.writes() == []


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        server.close()


def test_a_silent_endpoint_fails_in_bounded_time(
    tmp_path: Path,
    silent_endpoint: str,
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(aws_module, "READ_TIMEOUT", 0.5)
    project = make_project(tmp_path / "p")
    write_split_build(project)

    started = time.monotonic()
    code = main(["deploy", str(project), *FLAGS, "--endpoint-url", silent_endpoint, "--region", REGION])
    elapsed = time.monotonic() - started

    err = capsys.readouterr().err
    assert code == 1
    assert elapsed < 3 * 0.5 + 5  # three attempts and their backoff, not minutes
    assert f"error: {silent_endpoint} did not answer within 0.5 s" in err
    assert "hint: the endpoint accepts connections but does not answer" in err
    assert "Traceback" not in err


BAD_URLS = ["notaurl", "http://", "http://127.0.0.1:99999", "http://[::1"]


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("command", ["deploy", "destroy", "invoke"])
def test_a_malformed_endpoint_url_is_one_line_and_exit_2(
    tmp_path: Path, aws_env: None, capsys: pytest.CaptureFixture[str], command: str, url: str
) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    extra = {"deploy": ["--no-build", "--yes"], "destroy": ["--yes"], "invoke": ["--remote"]}[command]

    code = main([command, str(project), *extra, "--endpoint-url", url, "--region", REGION])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 2, err
    assert err[0].startswith(f"error: --endpoint-url {url!r}")
    assert err[1].startswith("hint: give a full URL such as http://127.0.0.1:5000")
