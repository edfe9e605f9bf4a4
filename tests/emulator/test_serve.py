"""`uv-lambda serve`: HTTP requests as events, and the Invoke API for boto3 and the AWS CLI."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import Server, start_serve, stop, write_code
from tests.support.aws_cli import AwsCli

ServerStarter = Callable[..., Server]

ECHO_HTTP = """
import base64, json
def handler(event, context):
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    if event.get("context"):
        return {"custom": context.client_context.custom, "function": context.function_name}
    if "requestContext" not in event:
        return {"plain": event}
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("latin-1")
    path = event.get("rawPath") or event.get("path")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-seen-path": path},
        "multiValueHeaders": {"x-multi": ["a", "b"]},
        "cookies": ["session=1"],
        "body": json.dumps({"event": event, "decoded_body": body}),
        "isBase64Encoded": False,
    }
"""


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServerStarter]:
    started: list[Server] = []
    counter = iter(range(100))

    def start(*extra: str, source: str = ECHO_HTTP) -> Server:
        n = next(counter)
        code = write_code(tmp_path / f"fn{n}", source)
        server = start_serve(
            [
                "--artifact",
                str(code),
                "--handler",
                "app.handler",
                "--runtime",
                "python3.13",
                "--concurrency",
                "2",
                *extra,
            ],
            tmp_path / f"serve{n}.log",
        )
        started.append(server)
        return server

    yield start
    for server in started:
        stop(server)


@pytest.mark.slow
@pytest.mark.parametrize("event_format", ["apigw-v1", "apigw-v2", "function-url", "alb"])
def test_http_requests_become_events_and_responses(serve: ServerStarter, event_format: str) -> None:
    server = serve("--event-format", event_format)
    status, headers, body = server.request(
        "POST",
        "/items/1?tag=a&tag=b",
        body=b"\x00\x01binary",
        headers={"Content-Type": "application/octet-stream", "Cookie": "c=1", "X-Custom": "yes"},
    )
    assert status == 200, body
    answer = json.loads(body)
    event = answer["event"]
    assert answer["decoded_body"] == "\x00\x01binary"
    assert event["isBase64Encoded"] is True
    names = [name.lower() for name, _ in headers]
    assert ("x-seen-path", "/items/1") in [(n.lower(), v) for n, v in headers]
    assert int(dict((n.lower(), v) for n, v in headers)["content-length"]) == len(body)
    if event_format in ("apigw-v2", "function-url"):
        assert event["version"] == "2.0"
        assert event["rawQueryString"] == "tag=a&tag=b"
        assert event["cookies"] == ["c=1"]
        assert event["headers"]["x-custom"] == "yes"
        assert "set-cookie" in names
    elif event_format == "apigw-v1":
        assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
        assert event["headers"]["X-Custom"] == "yes"
        assert event["httpMethod"] == "POST"
    else:
        assert "elb" in event["requestContext"]
        assert event["queryStringParameters"] == {"tag": "b"}
    # An ALB without multi-value headers reads only `headers`; the others read both.
    assert names.count("x-multi") == (0 if event_format == "alb" else 2)
    # The function's log goes to the server's stderr.
    assert "REPORT RequestId: " in server.log.read_text()


@pytest.mark.slow
def test_boto3_invoke_against_serve(serve: ServerStarter) -> None:
    from botocore.exceptions import ClientError

    server = serve()
    client = server.lambda_client()
    name = "code"  # the function is named after the zip without metadata
    ok = client.invoke(FunctionName=name, Payload=b'{"k": 1}', LogType="Tail")
    assert ok["StatusCode"] == 200
    assert "FunctionError" not in ok
    assert ok["ExecutedVersion"] == "$LATEST"
    assert json.loads(ok["Payload"].read()) == {"plain": {"k": 1}}
    tail = base64.b64decode(ok["LogResult"]).decode()
    assert "START RequestId: " in tail and "REPORT RequestId: " in tail

    context = base64.b64encode(json.dumps({"custom": {"user": "me"}}).encode()).decode()
    with_context = client.invoke(FunctionName=name, Payload=b'{"context": true}', ClientContext=context)
    assert json.loads(with_context["Payload"].read()) == {"custom": {"user": "me"}, "function": "code"}

    failed = client.invoke(FunctionName=name, Payload=b'{"fail": true}')
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "RuntimeError"

    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert client.invoke(FunctionName=arn, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    assert client.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(ClientError) as missing:
        client.invoke(FunctionName="not-this-one", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert client.invoke(FunctionName=name, Qualifier="$LATEST", Payload=b"{}")["StatusCode"] == 200
    with pytest.raises(ClientError) as no_alias:  # only $LATEST exists locally
        client.invoke(FunctionName=name, Qualifier="live", Payload=b"{}")
    assert no_alias.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as too_large:
        client.invoke(FunctionName=name, Payload=json.dumps({"x": "y" * (6 * 1024 * 1024)}).encode())
    assert too_large.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    with pytest.raises(ClientError) as too_large_async:  # 1 MB for asynchronous invocations
        client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps("y" * (1024 * 1024)).encode())
    assert too_large_async.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    with pytest.raises(ClientError) as not_json:
        client.invoke(FunctionName=name, Payload=b"{nope")
    assert not_json.value.response["Error"]["Code"] == "InvalidRequestContentException"
    # The server still answers normally afterwards.
    assert client.invoke(FunctionName=name, Payload=b"[1]")["StatusCode"] == 200


@pytest.mark.slow
def test_aws_cli_invoke_against_serve(serve: ServerStarter, tmp_path: Path, aws_cli: AwsCli) -> None:
    server = serve()
    event = tmp_path / "event.json"
    event.write_text('{"from": "aws-cli"}')
    out = tmp_path / "out.json"
    args = aws_cli.lambda_invoke(server.url, "code", event, out)
    env = aws_cli.env()
    completed = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["StatusCode"] == 200
    assert out.read_bytes() == b'{"plain": {"from": "aws-cli"}}'


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    code = write_code(tmp_path, ECHO_HTTP)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "uv_lambda",
                "serve",
                "--artifact",
                str(code),
                "--handler",
                "app.handler",
                "--runtime",
                "python3.13",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert completed.returncode == 2
    assert completed.stderr.splitlines()[0] == f"error: port {port} on 127.0.0.1 is in use"
    assert "Traceback" not in completed.stderr


@pytest.mark.slow
def test_watch_swaps_in_a_rebuild_without_failing_requests(cli: Any, tmp_path: Path) -> None:
    import threading

    project = tmp_path / "watched"
    assert cli("init", project, "--template", "handler").returncode == 0
    server = start_serve(["--watch", "--concurrency", "2"], tmp_path / "watch.log", cwd=project)
    failures: list[str] = []
    messages: list[str] = []
    done = threading.Event()

    def keep_calling() -> None:
        while not done.is_set():
            status, _, body = server.request("GET", "/")
            if status != 200:
                failures.append(f"{status} {body!r}")
            else:
                messages.append(json.loads(body)["message"])

    caller = threading.Thread(target=keep_calling)
    try:
        caller.start()
        time.sleep(0.5)
        main = project / "app" / "main.py"
        main.write_text(main.read_text().replace('f"Hello, {name}!"', 'f"Bonjour, {name}!"'))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not messages or messages[-1] != "Bonjour, world!"):
            time.sleep(0.1)
    finally:
        done.set()
        caller.join()
        stop(server)
    assert failures == []
    assert messages[0] == "Hello, world!" and messages[-1] == "Bonjour, world!"
    log = server.log.read_text()
    assert "serving the new build" in log
    # Pre-warmed: the new build's environment started its init as soon as it was rebuilt.
    assert "the new build is warm" in log


@pytest.mark.slow
def test_expect_100_continue_is_answered_at_once(serve: ServerStarter) -> None:
    """curl sends `Expect: 100-continue` for bodies over 1 MB and waits for it (1 s if unanswered)."""
    server = serve()
    body = b"a" * 2_000_000
    with socket.create_connection(("127.0.0.1", server.port), timeout=0.5) as client:
        client.sendall(
            b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
            + f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        assert client.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # within the 0.5 s timeout
        client.settimeout(30)
        client.sendall(body)
        reply = client.makefile("rb")
        assert reply.readline().startswith(b"HTTP/1.1 200")
        headers = list(iter(reply.readline, b"\r\n"))
        length = next(int(line.split(b":")[1]) for line in headers if line.lower().startswith(b"content-length"))
        assert json.loads(reply.read(length))["decoded_body"] == body.decode()
