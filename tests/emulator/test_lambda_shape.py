"""Probe handlers: what a function sees of its execution environment, sandboxed and not.

Every test runs twice: in a bwrap sandbox (`--sandbox require`: the test fails where bwrap
cannot run, CI installs it) and unsandboxed (`--sandbox off`). docs/local.md's table of
Lambda / sandboxed / unsandboxed is what these tests assert.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from uv_lambda import limits
from uv_lambda.emulator.environment import InvocationResult
from uv_lambda.emulator.function import LocalFunction

FunctionMaker = Callable[..., LocalFunction]

LAMBDA_PATH = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
LAMBDA_LD_LIBRARY_PATH = (
    "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
)


@pytest.fixture(params=["require", "off"], ids=["sandboxed", "unsandboxed"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(make_function: FunctionMaker, mode: str) -> Callable[..., LocalFunction]:
    def make(source: str, **options: Any) -> LocalFunction:
        return make_function(source, sandbox=mode, **options)

    return make


def _ok(result: InvocationResult) -> Any:
    assert not result.function_error, f"{result.payload!r}\n{result.log}"
    return json.loads(result.payload)


PROBE = """
import os, sys, shutil
def handler(event, context):
    def attempt(call):
        try:
            call()
            return "ok"
        except Exception as exc:
            return type(exc).__name__
    def write(path):
        with open(path, "w") as handle:
            handle.write("x")
    def queue():
        import multiprocessing
        multiprocessing.Queue()
    tmp = os.statvfs("/tmp")
    return {
        "executable": sys.executable,
        "cwd": os.getcwd(),
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "write_task_root": attempt(lambda: write(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "probe"))),
        "write_tmp": attempt(lambda: write("/tmp/probe")),
        "tmp_before": sorted(os.listdir("/tmp")),
        "tmp_megabytes": tmp.f_blocks * tmp.f_frsize // (1024 * 1024),
        "home": os.path.exists("/root") or os.path.exists("/home/" + os.environ.get("USER", "-")),
        "dev_shm": os.path.exists("/dev/shm"),
        "queue": attempt(queue),
        "exit_builtin": callable(getattr(__import__("builtins"), "exit", None)),
        "no_site": sys.flags.no_site,
        "env": dict(os.environ),
        "layer_tool": shutil.which("tool"),
    }
"""


def test_file_system_is_laid_out_as_lambdas(run: Callable[..., LocalFunction], mode: str) -> None:
    function = run(PROBE, layers=({"bin/tool": "#!/bin/sh\necho tool\n"},), ephemeral_storage=600)
    probe = _ok(function.invoke(b"{}"))
    layout = function.spec.layout
    if mode == "require":
        assert probe["executable"] == "/var/lang/bin/python3.13"
        assert probe["cwd"] == probe["task_root"] == "/var/task"
        assert probe["write_task_root"] == "OSError"  # read-only file system
        assert probe["layer_tool"] == "/opt/bin/tool"  # a layer's binary where Lambda puts it
        assert probe["tmp_megabytes"] == 600  # ephemeral-storage
        assert not probe["home"] and not probe["dev_shm"]
        assert probe["queue"] != "ok"  # no /dev/shm: multiprocessing.Queue fails, as on Lambda
    else:
        assert probe["executable"] == str(function.spec.interpreter)
        assert probe["cwd"] == probe["task_root"] == str(layout.task_root)
        assert probe["layer_tool"] == str(layout.opt / "bin/tool")
        assert probe["queue"] == "ok"  # the host's /dev/shm
    assert probe["write_tmp"] == "ok"
    # The interpreter starts as Lambda starts it: `site` imported (exit() exists).
    assert probe["exit_builtin"] and probe["no_site"] == 0


def test_tmp_is_new_for_every_environment(run: Callable[..., LocalFunction], mode: str) -> None:
    source = """
import os, uuid
MINE = uuid.uuid4().hex
def handler(event, context):
    seen = sorted(name for name in os.listdir("/tmp") if name.startswith("probe-"))
    open(f"/tmp/probe-{MINE}", "w").close()
    return seen
"""
    first = run(source)
    assert _ok(first.invoke(b"{}")) == []
    assert len(_ok(first.invoke(b"{}"))) == 1  # kept while the environment is warm
    second = run(source)
    seen_by_second = _ok(second.invoke(b"{}"))
    if mode == "require":
        assert seen_by_second == []  # a private /tmp
    else:
        assert len(seen_by_second) >= 1  # the host's /tmp, shared
        for name in seen_by_second:
            Path("/tmp", name).unlink(missing_ok=True)
        for name in _ok(second.invoke(b"{}")):
            Path("/tmp", name).unlink(missing_ok=True)


def test_environment_variables_are_lambdas(
    run: Callable[..., LocalFunction], mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST_ONLY_VARIABLE", "leak")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    env = _ok(run(PROBE).invoke(b"{}"))["env"]
    assert "HOST_ONLY_VARIABLE" not in env and "HOME" not in env and "PWD" not in env
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["AWS_ACCESS_KEY_ID"] == "AKIDEXAMPLE"  # the credentials passed on purpose
    assert env["TZ"] == ":UTC" and env["LC_CTYPE"] == "C.UTF-8" and env["LANG"] == "en_US.UTF-8"
    assert env["_AWS_XRAY_DAEMON_ADDRESS"] == "169.254.79.129" and env["_AWS_XRAY_DAEMON_PORT"] == "2000"
    assert env["AWS_XRAY_DAEMON_ADDRESS"] == "169.254.79.129:2000"
    if mode == "require":
        assert env["PATH"] == LAMBDA_PATH
        assert env["LD_LIBRARY_PATH"] == LAMBDA_LD_LIBRARY_PATH
        assert env["PYTHONPATH"] == "/var/runtime"
    else:  # the same values, at this machine's paths
        assert env["PATH"].split(":")[1:4] == ["/usr/local/bin", "/usr/bin/", "/bin"]
        assert env["PYTHONPATH"] == env["LAMBDA_RUNTIME_DIR"]


def test_unreserved_variables_override_lambdas(run: Callable[..., LocalFunction]) -> None:
    overrides = {
        "PATH": "/opt/bin:/usr/bin",
        "LD_LIBRARY_PATH": "/opt/lib",
        "LANG": "C.UTF-8",
        "TZ": "Europe/Paris",
        "PYTHONPATH": "/var/task/vendor",
    }
    source = """
import os, sys
def handler(event, context):
    return {"env": dict(os.environ), "path": sys.path}
"""
    answer = _ok(run(source, environment=overrides).invoke(b"{}"))
    assert {key: answer["env"][key] for key in overrides} == overrides
    # The runtime still starts (awslambdaric is imported from the runtime folder).
    assert answer["env"]["LAMBDA_RUNTIME_DIR"] in answer["path"]


def test_no_bytecode_is_written_and_none_is_asked_for(run: Callable[..., LocalFunction]) -> None:
    function = run("import helper\ndef handler(e, c):\n    return helper.X\n", extra_files={"helper.py": "X = 1"})
    assert _ok(function.invoke(b"{}")) == 1
    assert not list(function.spec.layout.root.rglob("__pycache__"))
    assert not list(function.spec.runtime_folder.rglob("helper*.pyc"))


def test_background_threads_are_frozen_between_invocations(run: Callable[..., LocalFunction]) -> None:
    source = """
import threading, time
TICKS = [0]
def count():
    while True:
        TICKS[0] += 1
        time.sleep(0.01)
threading.Thread(target=count, daemon=True).start()
def handler(event, context):
    return TICKS[0]
"""
    function = run(source)
    before = _ok(function.invoke(b"{}"))
    time.sleep(1.0)  # about 100 ticks if the environment were left running
    after = _ok(function.invoke(b"{}"))
    assert after - before < 30, (before, after)


def test_child_processes_are_frozen_too(run: Callable[..., LocalFunction]) -> None:
    """Also one that left the process group (setsid)."""
    source = """
import os, subprocess, sys, time
CHILD = "import os, time\\nwhile True:\\n    os.write(1, b'.')\\n    time.sleep(0.01)  # TOKEN"
def handler(event, context):
    if event.get("start"):
        ticks = open(f"/tmp/ticks-{os.getpid()}-{time.time()}", "wb")
        handler.ticks = ticks.name
        handler.child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=ticks, start_new_session=True)
        time.sleep(0.2)
    size = os.path.getsize(handler.ticks)
    if not event.get("start"):
        os.unlink(handler.ticks)
    return size
"""
    token = uuid.uuid4().hex  # this test's processes only: other runs may share the machine
    function = run(source.replace("TOKEN", token))
    before = _ok(function.invoke(b'{"start": true}'))
    time.sleep(1.0)
    after = _ok(function.invoke(b"{}"))
    assert before > 0 and after - before < 30, (before, after)
    function.pool.close()  # and it ends with its environment
    assert _all_gone(token.encode())


def test_the_process_tree_ends_with_the_environment(run: Callable[..., LocalFunction], mode: str) -> None:
    """A child process started by the function is killed with its environment; in a sandbox
    also a double-forked daemon, which leaves the process tree."""
    source = """
import os, subprocess, sys
def handler(event, context):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # TOKEN"])
    daemon = subprocess.Popen([sys.executable, "-c",
        "import os, time\\nif os.fork(): os._exit(0)\\nos.setsid()\\n"
        "if os.fork(): os._exit(0)\\ntime.sleep(60)  # TOKEN"])
    daemon.wait()
    return "started"
"""
    token = uuid.uuid4().hex  # this test's processes only: other runs may share the machine
    function = run(source.replace("TOKEN", token))
    assert _ok(function.invoke(b"{}")) == "started"
    [runtime] = function.pool.runtime_pids()
    marker = token.encode()
    started = _processes_with(marker)
    assert len(started) >= 1
    function.pool.close()
    if mode == "require":
        assert _all_gone(marker)
    else:  # a double-forked daemon may escape (see docs/local.md); the test cleans up after it
        for pid in _processes_with(marker):
            os.kill(pid, 9)
    assert not _is_runtime(runtime)


def _is_runtime(pid: int) -> bool:
    """`pid` is (still) a runtime process (not a process that reuses its number)."""
    try:
        return b"awslambdaric" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _all_gone(marker: bytes) -> bool:
    """No process with `marker` in its command line is left within 5 s (the kernel ends a
    PID namespace's processes after its init, not with it)."""
    deadline = time.monotonic() + 5
    while _processes_with(marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _all_pids() -> set[int]:
    return {int(name) for name in os.listdir("/proc") if name.isdigit()}


def _processes_with(marker: bytes) -> set[int]:
    """Processes of this test (children of this session's runtimes) whose command line has `marker`."""
    found = set()
    for pid in _all_pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker in cmdline and b"-c" in cmdline:
            found.add(pid)
    return found


def test_a_childs_memory_counts_against_the_memory_size(run: Callable[..., LocalFunction]) -> None:
    source = """
import subprocess, sys
def handler(event, context):
    code = f"import time\\nblock = bytearray({event['mb']} << 20)\\nprint('allocated', flush=True)\\ntime.sleep(5)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    child.stdout.readline()
    if event.get("wait"):
        child.wait()
    child.kill()
    return "survived"
"""
    function = run(source, memory=128, timeout=10)
    assert _ok(function.invoke(b'{"mb": 10}')) == "survived"
    result = function.invoke(b'{"mb": 200, "wait": true}')
    assert result.function_error, result.log
    assert json.loads(result.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed",
    }
    assert result.report.error_type == "Runtime.OutOfMemory"
    assert result.report.max_memory_used_mb == 128


def test_an_init_that_overruns_is_retried_under_the_timeout(
    run: Callable[..., LocalFunction], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda's suppressed init, with the 10 s init limit shortened to 1 s for the test."""
    monkeypatch.setattr(limits, "INIT_TIMEOUT_SECONDS", 1.0)
    source = """
import time
print("init starts", flush=True)
time.sleep(1.5)
def handler(event, context):
    return context.get_remaining_time_in_millis()
"""
    function = run(source, timeout=3)
    result = function.invoke(b"{}")
    remaining = _ok(result)
    assert 0 < remaining < 1600  # the retried init spent part of the 3 s timeout
    lines = result.log.splitlines()
    assert lines[0].startswith("INIT_START ")
    assert lines[1] == "init starts"
    assert lines[2].startswith("INIT_REPORT Init Duration: 10") and lines[2].endswith("\tPhase: init\tStatus: timeout")
    assert lines[3].startswith("START RequestId: ")
    assert lines[4] == "init starts"  # the retry runs after START, in the invocation
    assert "Init Duration" not in lines[-1] and result.report.duration_ms > 1400
    assert not function.invoke(b"{}").cold_start  # then it is warm


@pytest.mark.slow
def test_an_init_over_ten_seconds_fails_after_the_retry_times_out(run: Callable[..., LocalFunction]) -> None:
    source = "import time\ntime.sleep(12)\ndef handler(e, c):\n    return 1\n"
    function = run(source, timeout=3)
    started = time.monotonic()
    result = function.invoke(b"{}")
    assert 12.5 < time.monotonic() - started < 16  # 10 s of init, then 3 s of retry
    assert json.loads(result.payload)["errorType"] == "Sandbox.Timedout"
    assert "Phase: init\tStatus: timeout" in result.log and "Status: timeout\t" in result.log


def test_an_init_error_is_retried_once_in_the_invocation(run: Callable[..., LocalFunction]) -> None:
    function = run("import not_installed_anywhere\n")
    result = function.invoke(b"{}")
    assert json.loads(result.payload)["errorType"] == "Runtime.ImportModuleError"
    head, _, invocation = result.log.partition("START RequestId:")
    assert "Phase: init\tStatus: error\tError Type: Runtime.ImportModuleError" in head
    assert "[ERROR] Runtime.ImportModuleError" in head and "[ERROR] Runtime.ImportModuleError" in invocation


def test_the_runtime_ships_its_bundled_boto3(run: Callable[..., LocalFunction]) -> None:
    from uv_lambda.runtimes import BUNDLED_SDK

    function = run("import boto3, botocore\ndef handler(e, c):\n    return [boto3.__version__, botocore.__version__]\n")
    assert _ok(function.invoke(b"{}")) == [BUNDLED_SDK["python3.13"]] * 2


def test_response_size_error_names_both_sizes(run: Callable[..., LocalFunction]) -> None:
    function = run("def handler(e, c):\n    return 'x' * e['size']\n")
    result = function.invoke(json.dumps({"size": 7 * 1024 * 1024}).encode())
    assert json.loads(result.payload) == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size (7340034 bytes) exceeded maximum allowed payload size (6291556 bytes).",
    }
    # Up to 6 MiB + 100 bytes passes, as on Lambda (the JSON string adds two quotes).
    assert not function.invoke(json.dumps({"size": limits.MAX_RUNTIME_RESPONSE - 2}).encode()).function_error
