"""Execution environments running the real awslambdaric on hand-made task roots."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from uv_lambda.emulator.environment import InvocationResult
from uv_lambda.emulator.function import LocalFunction

FunctionMaker = Callable[..., LocalFunction]

ECHO = """
import json, os, sys
INIT_PID = os.getpid()
print("init line")

def handler(event, context):
    print("handling", event.get("n"))
    return {
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "sys_path": sys.path,
        "env": dict(os.environ),
        "remaining": context.get_remaining_time_in_millis(),
        "function_name": context.function_name,
        "function_version": context.function_version,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "request_id": context.aws_request_id,
        "log_group": context.log_group_name,
        "log_stream": context.log_stream_name,
        "client_context": context.client_context.custom if context.client_context else None,
        "event": event,
    }
"""


def _gone(pid: int) -> bool:
    """The process no longer exists (killed and reaped) within 2 s."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def _ok(result: InvocationResult) -> Any:
    """The answer of a successful invocation (a failure shows its payload and log)."""
    assert not result.function_error, f"{result.payload!r}\n{result.log}"
    return json.loads(result.payload)


def _answer(payload: bytes) -> dict:  # type: ignore[type-arg]
    return json.loads(payload)  # type: ignore[no-any-return]


def _runtime_pid(function: LocalFunction) -> int:
    """The pid on this machine of the only environment's runtime (in a sandbox the function
    sees another one, from its own PID namespace)."""
    [pid] = function.pool.runtime_pids()
    return pid


def test_cold_start_then_warm_reuse(make_function: FunctionMaker) -> None:
    function = make_function(ECHO)
    cold = function.invoke(b'{"n": 1}')
    warm = function.invoke(b'{"n": 2}')
    assert not cold.function_error and not warm.function_error
    assert _answer(cold.payload)["pid"] == _answer(warm.payload)["pid"]
    assert cold.cold_start and not warm.cold_start
    assert cold.report.init_duration_ms is not None and cold.report.init_duration_ms > 0
    assert warm.report.init_duration_ms is None
    # Lambda's log: the init output first, then START ... END, REPORT with Init Duration.
    lines = cold.log.splitlines()
    assert lines[0].startswith("INIT_START Runtime Version: python:3.13.")
    assert lines[1] == "init line"
    assert lines[2] == f"START RequestId: {cold.request_id} Version: $LATEST"
    assert lines[3] == "handling 1"
    assert lines[4] == f"END RequestId: {cold.request_id}"
    assert lines[5].startswith(f"REPORT RequestId: {cold.request_id}\tDuration: ")
    assert "\tInit Duration: " in lines[5] and lines[5].endswith(" ms\t")
    assert warm.log.splitlines()[0].startswith("START RequestId:")
    assert "Init Duration" not in warm.log


def test_context_and_environment_are_lambdas(make_function: FunctionMaker) -> None:
    function = make_function(ECHO, timeout=7, memory=256, environment={"STAGE": "test"})
    answer = _ok(function.invoke(b'{"n": 1}', client_context='{"custom": {"k": "v"}}'))
    layout = function.spec.layout
    sandboxed = function.spec.sandbox.enabled
    task_root = "/var/task" if sandboxed else str(layout.task_root)
    opt = "/opt" if sandboxed else str(layout.opt)
    runtime = "/var/runtime" if sandboxed else str(function.spec.runtime_folder)
    assert answer["cwd"] == task_root
    assert answer["sys_path"][:4] == [task_root, f"{opt}/python/lib/python3.13/site-packages", f"{opt}/python", runtime]
    assert 6000 < answer["remaining"] <= 7000
    assert answer["function_name"] == "test-fn"
    assert answer["function_version"] == "$LATEST"
    assert answer["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:test-fn"
    assert answer["memory"] == "256"
    assert answer["log_group"] == "/aws/lambda/test-fn"
    assert answer["client_context"] == {"k": "v"}
    env = answer["env"]
    assert env["STAGE"] == "test"
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert env["LAMBDA_TASK_ROOT"] == task_root
    assert env["TZ"] == ":UTC"


def test_caller_credentials_passed_through_or_withheld(
    make_function: FunctionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    passed = _ok(make_function(ECHO).invoke(b"{}"))["env"]
    assert (passed["AWS_ACCESS_KEY_ID"], passed["AWS_SESSION_TOKEN"]) == ("AKIDEXAMPLE", "token")
    withheld = _ok(make_function(ECHO, credentials=False).invoke(b"{}"))["env"]
    assert "AWS_ACCESS_KEY_ID" not in withheld and "AWS_SESSION_TOKEN" not in withheld


def test_layers_stack_in_order_and_task_root_wins(make_function: FunctionMaker) -> None:
    source = """
    import shared, first, second
    def handler(event, context):
        return [shared.WHO, first.WHO, second.WHO]
    """
    site = "python/lib/python3.13/site-packages"
    function = make_function(
        source,
        layers=(
            {f"{site}/shared.py": "WHO = 'layer1'", f"{site}/first.py": "WHO = 'layer1'"},
            {f"{site}/shared.py": "WHO = 'layer2'", "python/second.py": "WHO = 'layer2-python'"},
        ),
    )
    assert _answer(function.invoke(b"{}").payload) == ["layer2", "layer1", "layer2-python"]
    # A module in the task root shadows the same module in a layer.
    shadowed = make_function(
        "import shared\ndef handler(e, c):\n    return shared.WHO\n",
        extra_files={"shared.py": "WHO = 'task'"},
        layers=({f"{site}/shared.py": "WHO = 'layer'"},),
    )
    assert _answer(shadowed.invoke(b"{}").payload) == "task"


def test_no_bytecode_is_written(make_function: FunctionMaker) -> None:
    function = make_function(
        "import helper\ndef handler(e, c):\n    return helper.X\n", extra_files={"helper.py": "X = 1"}
    )
    assert _answer(function.invoke(b"{}").payload) == 1
    assert not list(function.spec.layout.root.rglob("__pycache__"))


def test_handler_exception_is_passed_through(make_function: FunctionMaker) -> None:
    function = make_function("def handler(e, c):\n    raise KeyError('missing')\n")
    result = function.invoke(b"{}")
    body = _answer(result.payload)
    assert result.function_error
    assert body["errorType"] == "KeyError"
    assert body["errorMessage"] == "'missing'"
    assert body["requestId"] == result.request_id
    assert "[ERROR] KeyError" in result.log
    # A raised exception keeps the environment warm.
    assert _answer(function.invoke(b"{}").payload)["errorType"] == "KeyError"
    assert function.pool.environments_started == 1


def test_timeout_kills_and_next_call_gets_a_fresh_environment(make_function: FunctionMaker) -> None:
    source = """
    import os, time
    def handler(event, context):
        time.sleep(event.get("sleep", 0))
        return os.getpid()
    """
    function = make_function(source, timeout=1)
    first = _answer(function.invoke(b"{}").payload)
    first_pid = _runtime_pid(function)
    started = time.monotonic()
    result = function.invoke(b'{"sleep": 5}')
    assert time.monotonic() - started < 3
    assert result.function_error
    assert _answer(result.payload) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds",
    }
    assert f"{result.request_id} Task timed out after 1.00 seconds" in result.log
    assert "Duration: 1000.00 ms" in result.log and "Status: timeout" in result.log
    assert _gone(first_pid)
    fresh = function.invoke(b"{}")
    assert fresh.cold_start and _runtime_pid(function) != first_pid
    assert first is not None


@pytest.mark.parametrize(
    ("code", "status"),
    [("os._exit(7)", "exit status 7"), ("os.kill(os.getpid(), signal.SIGSEGV)", "signal: segmentation fault")],
)
def test_crash_is_runtime_exit_error(make_function: FunctionMaker, code: str, status: str) -> None:
    source = f"""
    import os, signal
    def handler(event, context):
        if event.get("crash"):
            {code}
        return "ok"
    """
    function = make_function(source)
    assert _answer(function.invoke(b"{}").payload) == "ok"
    result = function.invoke(b'{"crash": true}')
    assert result.function_error
    assert _answer(result.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: {status}",
    }
    assert "Status: error\tError Type: Runtime.ExitError" in result.log
    replaced = function.invoke(b"{}")
    assert _answer(replaced.payload) == "ok" and replaced.cold_start


def test_memory_limit_is_enforced(make_function: FunctionMaker) -> None:
    source = """
    import time
    def handler(event, context):
        blocks = []
        for _ in range(event["mb"]):
            blocks.append(bytearray(1024 * 1024))
            time.sleep(0.002)
        return len(blocks)
    """
    function = make_function(source, memory=128, timeout=10)
    fits = function.invoke(b'{"mb": 40}')
    assert _answer(fits.payload) == 40
    assert fits.report.max_memory_used_mb >= 40  # the real peak RSS
    result = function.invoke(b'{"mb": 400}')
    assert result.function_error
    # As Lambda reports it: the caller sees the runtime killed, REPORT names the cause.
    assert _answer(result.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed",
    }
    assert "Status: error\tError Type: Runtime.OutOfMemory" in result.log
    assert result.report.max_memory_used_mb == 128  # never over the memory size


@pytest.mark.parametrize(
    ("source", "handler", "error_type"),
    [
        ("import not_installed_anywhere\n", "app.handler", "Runtime.ImportModuleError"),
        ("def other(e, c):\n    pass\n", "app.handler", "Runtime.HandlerNotFound"),
        ("def handler(e, c):\n    return (\n", "app.handler", "Runtime.UserCodeSyntaxError"),
        ("def handler(e, c):\n    pass\n", "missing_module.handler", "Runtime.ImportModuleError"),
        ("def handler(e, c):\n    pass\n", "nodot", "Runtime.MalformedHandlerName"),
    ],
)
def test_init_errors_come_back_with_awslambdarics_type(
    make_function: FunctionMaker, source: str, handler: str, error_type: str
) -> None:
    function = make_function(source, handler=handler)
    result = function.invoke(b"{}")
    assert result.function_error
    assert _answer(result.payload)["errorType"] == error_type
    assert result.error_type == error_type
    # The init log (awslambdaric prints the error) comes before START.
    head, _, _ = result.log.partition("START RequestId:")
    assert f"[ERROR] {error_type}" in head
    assert "Init Duration" in result.log
    # Every invoke retries the init, as Lambda does; nothing is left half-alive.
    assert _answer(function.invoke(b"{}").payload)["errorType"] == error_type


def test_response_over_six_megabytes_is_refused(make_function: FunctionMaker) -> None:
    function = make_function("def handler(e, c):\n    return 'x' * (e['size'])\n")
    result = function.invoke(json.dumps({"size": 7 * 1024 * 1024}).encode())
    assert result.function_error
    assert _answer(result.payload)["errorType"] == "Function.ResponseSizeTooLarge"
    assert not function.invoke(b'{"size": 10}').function_error


def test_event_dies_with_idle_environment_is_not_lost(make_function: FunctionMaker) -> None:
    """An environment killed while it holds its long-poll: the event goes to a fresh one."""
    function = make_function("import os\ndef handler(e, c):\n    return os.environ['AWS_LAMBDA_LOG_STREAM_NAME']\n")
    first_stream = _answer(function.invoke(b"{}").payload)
    os.kill(_runtime_pid(function), signal.SIGKILL)
    time.sleep(0.05)
    result = function.invoke(b"{}")
    assert not result.function_error
    assert _answer(result.payload) != first_stream
    # Either the pool saw the process gone, or the event went to it, found it dead, and was retried.
    assert function.pool.environments_started == 2


def test_environments_run_in_parallel_one_event_each(make_function: FunctionMaker) -> None:
    import concurrent.futures

    source = """
    import os, time
    def handler(event, context):
        time.sleep(0.5)
        return os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]  # one per environment
    """
    function = make_function(source, concurrency=3)
    function.invoke(b"{}")  # one warm, two cold below
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(3) as executor:
        pids = list(executor.map(lambda _: _answer(function.invoke(b"{}").payload), range(3)))
    assert len(set(pids)) == 3  # each environment took exactly one of them
    assert time.monotonic() - started < 1.4
    assert function.pool.environments_started == 3


def test_runtime_folder_is_cached_with_boto3(make_function: FunctionMaker) -> None:
    function = make_function("import boto3\ndef handler(e, c):\n    return boto3.__version__\n")
    assert isinstance(_answer(function.invoke(b"{}").payload), str)
    folder = function.spec.runtime_folder
    assert (folder / "awslambdaric").is_dir() and (folder / "boto3").is_dir()
    assert folder.parent.parent == Path(os.environ["UV_LAMBDA_CACHE_DIR"])


def test_boto3_can_be_left_out_of_the_runtime(make_function: FunctionMaker) -> None:
    function = make_function("import boto3\ndef handler(e, c):\n    return 1\n", with_boto3=False)
    result = function.invoke(b"{}")
    assert _answer(result.payload)["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'boto3'" in _answer(result.payload)["errorMessage"]
    assert not (function.spec.runtime_folder / "boto3").exists()
    assert (function.spec.runtime_folder / "awslambdaric").is_dir()


def test_a_brief_peak_over_the_memory_size_is_an_out_of_memory(make_function: FunctionMaker) -> None:
    """A spike between two samples still counts: the process's peak RSS is checked at the end."""
    source = """
    def handler(event, context):
        spike = b"x" * (event["mb"] * 1024 * 1024)
        del spike
        return "survived"
    """
    function = make_function(source, memory=128)
    result = function.invoke(b'{"mb": 160}')
    assert _answer(result.payload)["errorType"] == "Runtime.ExitError"
    assert result.report.error_type == "Runtime.OutOfMemory"
    assert result.report.max_memory_used_mb == 128
    assert _ok(function.invoke(b'{"mb": 1}')) == "survived"  # on a fresh environment
