"""`uv-lambda invoke --remote` from the command line: the deployed function, the local output contract.

Success runs against moto (its docker-less stand-in answers with a queued result). moto's
stand-in never fails, so the function-error case invokes through `uv-lambda serve`, which
answers the same Invoke API (X-Amz-Function-Error, X-Amz-Log-Result) with a real failing handler.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import REGION, RecordingProxy, make_project, write_split_build, write_zip_build

from uv_lambda import proc
from uv_lambda.cli import main

RESULT = {"statusCode": 200, "body": "from the deployed function"}


def test_invoke_remote_prints_the_deployed_result(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, moto_server: Any, no_docker: None
) -> None:
    project = make_project(tmp_path / "p", tool='alias = "live"\n')
    write_split_build(project)
    assert deploy_cli("deploy", project, "--no-build", "--yes").code == 0
    moto_server.post("/moto-api/static/lambda-simple/response", {"results": [json.dumps(RESULT)], "region": REGION})
    event = tmp_path / "event.json"
    event.write_text('{"ping": 1}')
    proxy.reset()

    outcome = deploy_cli("invoke", project, "--remote", "--event", event)

    assert outcome.code == 0, outcome.err
    assert json.loads(outcome.out) == RESULT
    (invoke,) = [call for call in proxy.calls if call.operation == "Invoke"]
    assert "Qualifier=live" in invoke.path
    assert invoke.body == b'{"ping": 1}'
    assert all(not call.is_write or call.operation == "Invoke" for call in proxy.calls)


def test_invoke_remote_of_a_function_never_deployed_is_one_line(tmp_path: Path, deploy_cli: Any) -> None:
    project = make_project(tmp_path / "p")

    outcome = deploy_cli("invoke", project, "--remote")

    assert outcome.code != 0
    assert outcome.out == ""
    assert "ResourceNotFoundException" in outcome.err
    assert "Traceback" not in outcome.err


@pytest.mark.parametrize("flag", [["--artifact", "x.zip"], ["--layer", "l.zip"], ["--image", "r/x:1"]])
def test_local_only_flags_are_refused_with_remote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    project = make_project(tmp_path / "p")

    code = main(["invoke", str(project), "--remote", *flag])

    err = capsys.readouterr().err
    assert code == 2
    assert f"--remote invokes the deployed function: {flag[0]} only applies to a local run" in err
    assert len(err.strip().splitlines()) == 2  # the error and its hint


def test_aws_flags_are_refused_without_remote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["invoke", str(make_project(tmp_path / "p")), "--endpoint-url", "http://127.0.0.1:1"])

    assert code == 2
    assert "--endpoint-url only applies with --remote" in capsys.readouterr().err


@pytest.fixture
def failing_endpoint(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A project whose function raises, served by `uv-lambda serve` (the Lambda Invoke API)."""
    project = make_project(tmp_path / "failing")
    handler = "def handler(event, context):\n    print('about to fail')\n    raise ValueError('boom')\n"
    write_zip_build(project, files={"app.py": handler})
    log = (tmp_path / "serve.log").open("wb")
    artifact = project / "dist" / "lambda" / "hello"
    process = proc.spawn(
        [sys.executable, "-m", "uv_lambda", "serve", "--artifact", str(artifact), "--port", "0", "--no-credentials"],
        stdout=log.fileno(),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(rb"on (http://127\.0\.0\.1:\d+)", (tmp_path / "serve.log").read_bytes())):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        yield project, found.group(1).decode()
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_a_function_error_exits_1_with_the_error_json_on_stdout(
    failing_endpoint: tuple[Path, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, url = failing_endpoint
    for key in [key for key in os.environ if key.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(project / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(project / "no-aws-credentials"))

    code = main(["invoke", str(project), "--remote", "--endpoint-url", url, "--region", REGION])

    captured = capsys.readouterr()
    assert code == 1
    error = json.loads(captured.out)
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "boom"
    assert "about to fail" in captured.err  # the Tail log
    assert captured.err.rstrip().endswith("error: the function failed with ValueError")
