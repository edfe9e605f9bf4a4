"""The guide's FastAPI + Mangum app, built by the real build, run by the local runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import start_serve, stop
from tests.support.aws_cli import AwsCli

EXPECTED = {
    "statusCode": 200,
    "headers": {"content-length": "15", "content-type": "application/json"},
    "multiValueHeaders": {},
    "body": '"Hello, world!"',
    "isBase64Encoded": False,
}


@pytest.mark.slow
@pytest.mark.parametrize("build_format", ["zip", "split"])
def test_guide_event_returns_guide_response(cli: Any, example: Callable[[str], Path], build_format: str) -> None:
    project = example("fastapi-hello")
    if build_format == "split":
        pyproject = project / "pyproject.toml"
        pyproject.write_text(pyproject.read_text() + '\n[tool.uv-lambda]\nformat = "split"\n')
    result = cli("invoke", project, "--event", project / "event.json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer == EXPECTED
    assert int(answer["headers"]["content-length"]) == len(answer["body"].encode())
    assert "REPORT RequestId: " in result.stderr and "Init Duration: " in result.stderr
    built = sorted(path.name for path in (project / "dist" / "lambda").glob("*/*.zip"))
    assert built == (["app.zip", "layer.zip"] if build_format == "split" else ["function.zip"])


@pytest.mark.slow
def test_serve_answers_hello_world_for_every_event_format(
    cli: Any, example: Callable[[str], Path], tmp_path: Path
) -> None:
    import http.client

    project = example("fastapi-hello")
    assert cli("build", project).returncode == 0  # serve below reuses this build
    for event_format in ("apigw-v1", "apigw-v2", "function-url", "alb"):
        server = start_serve(["--event-format", event_format], tmp_path / f"{event_format}.log", cwd=project)
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read()
            assert (response.status, body) == (200, b'"Hello, world!"'), event_format
            assert response.getheader("content-type") == "application/json"
            assert response.getheader("content-length") == "15"
        finally:
            stop(server)


@pytest.mark.slow
def test_aws_cli_and_boto3_against_serve_return_the_guide_response(
    cli: Any, example: Callable[[str], Path], tmp_path: Path, aws_cli: AwsCli
) -> None:
    import subprocess

    project = example("fastapi-hello")
    assert cli("build", project).returncode == 0
    server = start_serve([], tmp_path / "serve.log", cwd=project)
    try:
        out = tmp_path / "response.json"
        args = aws_cli.lambda_invoke(server.url, "uv-aws-lambda-example", project / "event.json", out)
        env = aws_cli.env()
        completed = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
        assert completed.returncode == 0, completed.stderr
        assert json.loads(out.read_bytes()) == EXPECTED

        client = server.lambda_client()
        answer = client.invoke(FunctionName="uv-aws-lambda-example", Payload=(project / "event.json").read_bytes())
        assert answer["StatusCode"] == 200 and "FunctionError" not in answer
        assert json.loads(answer["Payload"].read()) == EXPECTED
    finally:
        stop(server)
