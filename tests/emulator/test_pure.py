"""Pure pieces: log lines, Lambda's own error documents, environment variables."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from uv_lambda.emulator import lambda_errors, sandbox
from uv_lambda.emulator.function_variables import function_environment, log_stream_name
from uv_lambda.emulator.layout import Layout
from uv_lambda.emulator.log_lines import Report, end_line, megabytes, start_line
from uv_lambda.emulator.spec import FunctionSpec


def test_start_end_lines_are_lambdas() -> None:
    assert start_line("abc", "$LATEST") == "START RequestId: abc Version: $LATEST"
    assert end_line("abc") == "END RequestId: abc"


def test_report_line_warm_and_cold() -> None:
    warm = Report("abc", 15.743, 128, 56)
    assert warm.line() == (
        "REPORT RequestId: abc\tDuration: 15.74 ms\tBilled Duration: 16 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 56 MB\t"
    )
    cold = Report("abc", 15.74, 128, 56, init_duration_ms=130.49)
    # Every REPORT line ends with a tab, as Lambda's do.
    assert cold.line().endswith("\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms\t")
    # The init phase is billed on cold starts (since August 2025).
    assert cold.billed_duration_ms == 147


def test_report_line_of_a_failure_names_status_and_type() -> None:
    line = Report("abc", 3000.0, 128, 40, status="timeout").line()
    assert line.endswith("Max Memory Used: 40 MB\tStatus: timeout\t")
    crashed = Report("abc", 2.0, 128, 40, status="error", error_type="Runtime.ExitError").line()
    assert crashed.endswith("\tStatus: error\tError Type: Runtime.ExitError\t")


def test_megabytes_round_up() -> None:
    assert megabytes(1024) == 1
    assert megabytes(1025) == 2


def test_exit_status_words_match_lambdas() -> None:
    assert lambda_errors.exit_status(1) == "exit status 1"
    assert lambda_errors.exit_status(-signal.SIGKILL) == "signal: killed"
    assert lambda_errors.exit_status(-signal.SIGSEGV) == "signal: segmentation fault"
    assert lambda_errors.exit_status(-signal.SIGABRT) == "signal: aborted"


def test_timeout_document() -> None:
    body = json.loads(lambda_errors.timeout("id-1", 3))
    assert body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: id-1 Error: Task timed out after 3.00 seconds",
    }
    assert lambda_errors.error_type_of(lambda_errors.timeout("x", 1)) == "Sandbox.Timedout"
    assert lambda_errors.error_type_of(b"not json") is None


def _spec(tmp_path: Path, environment: dict[str, str]) -> FunctionSpec:
    layout = Layout(tmp_path, tmp_path / "task", tmp_path / "opt")
    return FunctionSpec(
        name="fn",
        handler="app.main.handler",
        python_version="3.13",
        interpreter=Path("/usr/bin/python3.13"),
        layout=layout,
        runtime_folder=tmp_path / "runtime",
        memory_mb=256,
        environment=environment,
        credentials={"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s"},
        region="eu-west-1",
    )


def _lambda_paths() -> sandbox.Paths:
    return sandbox.Paths(
        "/var/task", "/opt", "/var/runtime", "/var/lang/bin", "/var/lang/lib", "/var/lang/bin/python3.13"
    )


def test_function_environment_has_lambdas_variables(tmp_path: Path) -> None:
    env = function_environment(_spec(tmp_path, {"STAGE": "dev"}), "127.0.0.1:9001", _lambda_paths())
    assert env["_HANDLER"] == "app.main.handler"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["STAGE"] == "dev"
    assert env["AWS_ACCESS_KEY_ID"] == "AKIA"
    assert "AWS_LAMBDA_MAX_CONCURRENCY" not in env  # it would switch awslambdaric's mode
    assert "PYTHONDONTWRITEBYTECODE" not in env  # no bytecode because /var/task is read-only
    # Lambda's values, as lambda-facts.md lists them.
    assert {key: env[key] for key in _LAMBDA_VALUES} == _LAMBDA_VALUES


_LAMBDA_VALUES = {
    "LAMBDA_TASK_ROOT": "/var/task",
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "LC_CTYPE": "C.UTF-8",
    "PYTHONPATH": "/var/runtime",
    "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
    "_AWS_XRAY_DAEMON_PORT": "2000",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
}


def test_unreserved_variables_are_overridden_and_reserved_ones_are_not(tmp_path: Path) -> None:
    overrides = {
        "PATH": "/opt/mine/bin",
        "LD_LIBRARY_PATH": "/opt/mine/lib",
        "PYTHONPATH": "/var/task/src",
        "LANG": "C",
        "TZ": "Europe/Paris",
    }
    env = function_environment(
        _spec(tmp_path, {**overrides, "AWS_REGION": "mars-1", "_HANDLER": "evil.handler"}),
        "127.0.0.1:1",
        _lambda_paths(),
    )
    assert {key: env[key] for key in overrides} == overrides
    # (the configuration refuses reserved keys; one from an image's Env is dropped here)
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["_HANDLER"] == "app.main.handler"


def test_log_stream_name_shape() -> None:
    name = log_stream_name("$LATEST")
    date, _, rest = name.partition("/[$LATEST]")
    assert len(date.split("/")) == 3 and len(rest) == 32


def test_cache_root_prefers_override_then_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from uv_lambda.emulator.runtime_folder import cache_root, folder_name

    monkeypatch.setenv("UV_LAMBDA_CACHE_DIR", str(tmp_path / "override"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "override"
    monkeypatch.delenv("UV_LAMBDA_CACHE_DIR")
    assert cache_root() == tmp_path / "xdg" / "uv-lambda"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path.home() / ".cache" / "uv-lambda"
    # One folder per Python version, machine and requirement set.
    assert folder_name("3.13", "x86_64", True) != folder_name("3.13", "x86_64", False)
    assert folder_name("3.12", "x86_64", True).startswith("python3.12-x86_64-")
    assert len({folder_name("3.13", "x86_64", True, sdk) for sdk in ("bundled", "latest", "1.39.0")}) == 3


def test_runtime_sdk_requirements() -> None:
    from uv_lambda.emulator.runtime_folder import requirements
    from uv_lambda.runtimes import BUNDLED_SDK, BUNDLED_SDK_RECORDED, RUNTIMES

    assert set(BUNDLED_SDK) == set(RUNTIMES) and BUNDLED_SDK_RECORDED.year >= 2026
    bundled = BUNDLED_SDK["python3.12"]
    assert requirements(True, "3.12")[1:] == [f"boto3=={bundled}", f"botocore=={bundled}"]
    assert requirements(True, "3.12", "latest")[1:] == ["boto3"]
    assert requirements(True, "3.12", "1.39.0")[1:] == ["boto3==1.39.0", "botocore==1.39.0"]
    assert requirements(False, "3.12", "latest") == requirements(False)


def test_runtime_folder_is_installed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from uv_lambda.emulator.runtime_folder import ensure_runtime_folder
    from uv_lambda.uv import find_uv

    interpreter = find_uv().find_python("3.13")
    first = ensure_runtime_folder("3.13", interpreter)
    marker = next(first.glob(".uv-lambda-runtime"))
    stamp = marker.stat().st_mtime_ns

    def no_install(*args: object, **kwargs: object) -> None:
        raise AssertionError("installed again")

    monkeypatch.setattr("uv_lambda.uv.Uv.run", no_install)
    assert ensure_runtime_folder("3.13", interpreter) == first
    assert marker.stat().st_mtime_ns == stamp
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no scratch left


def test_process_memory_reads_peak_and_current_rss() -> None:
    import os
    import subprocess
    import sys

    from uv_lambda.emulator.memory import ProcessMemory

    own = ProcessMemory(os.getpid())
    peak, rss = own.peak_rss_kb(), own.rss_kb()
    assert peak is not None and rss is not None and 0 < rss <= peak
    own.close()
    assert own.peak_rss_kb() is None
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    watched = ProcessMemory(child.pid)
    child.wait()  # reaped: its status file is gone, and a reused pid is not read instead
    assert watched.peak_rss_kb() is None
    watched.close()
