"""Local runner benchmark: invoke latency, cold-start overhead, what `serve` adds, throughput.

    python bench/local_runner.py [--requests 2000] [--cold 11] [--load-seconds 10]

Everything is measured in one run, on a copy of examples/fastapi-hello built with
`uv-lambda build`, and on a trivial handler (`return {"ok": True}`):

  warm invoke      p50/p90/p99 of sequential Invoke API calls (POST /2015-03-31/...) to
                   `uv-lambda serve`, over one keep-alive connection; the baseline is the
                   function's own REPORT Duration of the same calls
  where it goes    the same calls through LocalFunction.invoke in-process (no HTTP), so
                   HTTP server, runtime hand-off and handler time can be told apart
  cold start       time to first response of a fresh environment minus the time of
                   `python3.13 -S -c "import app.main"` on the same unpacked artifact
  serve overhead   HTTP GET round trip p50 (apigw-v2 events) minus REPORT Duration p50
  load             wrk -t1 -c4 against serve with 2 environments (then 1, which leaves a
                   core to serve and wrk), against the bound the
                   function sets (2 / warm Duration), and against uvicorn (1 worker)
                   serving the same FastAPI app from the same unpacked files

The sandbox (`python bench/local_runner.py --sandbox-only` runs just this part), for both
apps, with `--sandbox require` (bwrap) and `--sandbox off` side by side:

  warm invoke      p50 of sequential Invoke API calls to `serve` (Python client)
  cold start       first response of a fresh environment minus `python3.13 -c "import app"`
                   on the host (so the namespace set-up is part of the overhead)
  freeze/thaw      LocalFunction.invoke p50 with the freeze between invocations minus the
                   same calls with it disabled (in this script only)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parent.parent
PYENV = Path.home() / ".pyenv" / "versions"
TRIVIAL = "def handler(event, context):\n    return {'ok': True}\n"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
if TYPE_CHECKING:
    from uv_lambda.model import Function

GUIDE_EVENT = json.dumps({"httpMethod": "GET", "path": "/", "requestContext": {}, "version": "1.0"}).encode()


def environment(cache: Path) -> dict[str, str]:
    interpreters = [str(p) for p in sorted(PYENV.glob("3.1[0-9]*/bin"), reverse=True)]
    path = os.pathsep.join([str(Path(sys.executable).parent), *interpreters, os.environ["PATH"]])
    return {**os.environ, "PATH": path, "UV_PYTHON_DOWNLOADS": "never", "UV_LAMBDA_CACHE_DIR": str(cache)}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def describe(values: list[float]) -> str:
    p50, p90, p99 = (percentile(values, fraction) for fraction in (0.5, 0.9, 0.99))
    return f"p50 {p50:.3f} ms  p90 {p90:.3f} ms  p99 {p99:.3f} ms"


class Serve:
    def __init__(self, args: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> None:
        self.log = log
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uv_lambda", "serve", "--port", "0", *args],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
            )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            match = re.search(r"on http://127\.0\.0\.1:(\d+)", log.read_text())
            if match:
                self.port = int(match.group(1))
                return
            if self.process.poll() is not None:
                raise SystemExit(f"serve failed: {log.read_text()}")
            time.sleep(0.05)
        raise SystemExit("serve did not start")

    def durations(self) -> dict[str, float]:
        found = re.findall(r"^REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms", self.log.read_text(), re.M)
        return {request_id: float(ms) for request_id, ms in found}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def sequential(port: int, count: int, method: str, path: str, body: bytes | None) -> tuple[list[float], list[str]]:
    """Round trips (ms) and request ids of `count` calls over one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    times: list[float] = []
    ids: list[str] = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request(method, path, body=body)
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
        ids.append(response.getheader("X-Amzn-RequestId") or "")
        assert response.status == 200, response.status
    connection.close()
    return times, ids


def warm_invoke(name: str, serve_args: list[str], env: dict[str, str], work: Path, count: int) -> float:
    server = Serve([*serve_args, "--concurrency", "1"], env, work / f"{name}-invoke.log")
    try:
        sequential(server.port, 50, "POST", INVOKE_PATH, GUIDE_EVENT)  # warm up
        times, ids = sequential(server.port, count, "POST", INVOKE_PATH, GUIDE_EVENT)
        time.sleep(0.3)
        durations = server.durations()
    finally:
        server.stop()
    own = [durations[i] for i in ids if i in durations]
    print(f"[{name}] warm invoke via Invoke API (Python client): {describe(times)}")
    print(f"[{name}]   function's REPORT Duration:  {describe(own)}")
    if shutil.which("wrk"):
        server = Serve([*serve_args, "--concurrency", "1"], env, work / f"{name}-invoke-wrk.log")
        try:
            sequential(server.port, 50, "POST", INVOKE_PATH, GUIDE_EVENT)
            before = set(server.durations())
            p50 = wrk_p50(server.port, INVOKE_PATH, 5, work, GUIDE_EVENT)
            time.sleep(0.3)
            new = [ms for request_id, ms in server.durations().items() if request_id not in before]
        finally:
            server.stop()
        print(
            f"[{name}] warm invoke via Invoke API (wrk, 1 connection): p50 {p50:.3f} ms; "
            f"REPORT Duration p50 {percentile(new, 0.5):.3f} ms"
        )
    return percentile(own, 0.5)


def in_process(name: str, code: Path, layers: list[Path], handler: str, count: int) -> None:
    from uv_lambda.config import FunctionConfig
    from uv_lambda.emulator.function import LocalFunction, RunOptions
    from uv_lambda.model import Function

    settings = Function.configured(FunctionConfig(name=name, handler=handler, runtime="python3.13"))
    with LocalFunction.open(settings, code, layers, RunOptions(pass_credentials=False)) as function:
        for _ in range(50):
            function.invoke(GUIDE_EVENT)
        times: list[float] = []
        durations: list[float] = []
        for _ in range(count):
            started = time.perf_counter()
            result = function.invoke(GUIDE_EVENT)
            times.append((time.perf_counter() - started) * 1000)
            durations.append(result.report.duration_ms)
    print(f"[{name}] LocalFunction.invoke (no HTTP): {describe(times)}")


def cold_start(name: str, code: Path, layers: list[Path], handler: str, module: str, runs: int) -> None:
    from uv_lambda.config import FunctionConfig
    from uv_lambda.emulator.function import LocalFunction, RunOptions
    from uv_lambda.model import Function

    settings = Function.configured(FunctionConfig(name=name, handler=handler, runtime="python3.13"))
    firsts: list[float] = []
    imports: list[float] = []
    no_teardown: list[float] = []
    for _ in range(runs):
        with LocalFunction.open(settings, code, layers, RunOptions(pass_credentials=False)) as function:
            spec = function.spec
            started = time.perf_counter()
            result = function.invoke(GUIDE_EVENT)
            firsts.append((time.perf_counter() - started) * 1000)
            assert not result.function_error, result.payload
            python_path = ":".join(str(p) for p in spec.layout.python_path("3.13", spec.runtime_folder)[1:])
            env = {"PYTHONPATH": python_path, "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ["PATH"]}
            started = time.perf_counter()
            subprocess.run(
                [str(spec.interpreter), "-S", "-c", f"import {module}"],
                cwd=spec.layout.task_root,
                env=env,
                check=True,
            )
            imports.append((time.perf_counter() - started) * 1000)
            # The same import without the interpreter's shutdown (which a first response never waits for).
            started = time.perf_counter()
            subprocess.run(
                [str(spec.interpreter), "-S", "-c", f"import os, {module}; os._exit(0)"],
                cwd=spec.layout.task_root,
                env=env,
                check=True,
            )
            no_teardown.append((time.perf_counter() - started) * 1000)
    first, imported, bare = statistics.median(firsts), statistics.median(imports), statistics.median(no_teardown)
    print(
        f"[{name}] cold start: first response {first:.1f} ms, bare import {imported:.1f} ms, "
        f"overhead {first - imported:.1f} ms (medians of {runs}); "
        f"import without shutdown {bare:.1f} ms, overhead {first - bare:.1f} ms"
    )


def serve_overhead(env: dict[str, str], project: Path, work: Path, count: int) -> float:
    server = Serve(["--concurrency", "1", "--event-format", "apigw-v2"], env, work / "serve-get.log", cwd=project)
    try:
        sequential(server.port, 50, "GET", "/", None)
        before = set(server.durations())
        times, _ = sequential(server.port, count, "GET", "/", None)
        time.sleep(0.3)
        durations = [ms for request_id, ms in server.durations().items() if request_id not in before]
    finally:
        server.stop()
    round_trip, duration = percentile(times, 0.5), percentile(durations, 0.5)
    print(f"[fastapi] HTTP GET via serve (Python client): {describe(times)}")
    print(
        f"[fastapi]   serve + client add {round_trip - duration:.3f} ms (round trip p50 {round_trip:.3f} ms "
        f"- REPORT Duration p50 {duration:.3f} ms)"
    )
    if shutil.which("wrk"):
        server = Serve(["--concurrency", "1", "--event-format", "apigw-v2"], env, work / "serve-wrk.log", cwd=project)
        try:
            sequential(server.port, 50, "GET", "/", None)
            before = set(server.durations())
            p50 = wrk_p50(server.port, "/", 5, work)
            time.sleep(0.3)
            new = [ms for request_id, ms in server.durations().items() if request_id not in before]
        finally:
            server.stop()
        wrk_duration = percentile(new, 0.5)
        print(
            f"[fastapi] serve adds {p50 - wrk_duration:.3f} ms (wrk, 1 connection: round trip p50 {p50:.3f} ms "
            f"- REPORT Duration p50 {wrk_duration:.3f} ms)"
        )
    return duration


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of one process, all its threads (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process."""
    return sum(cpu_times(pid))


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue  # a thread that ended meanwhile
    return found


def wrk_p50(port: int, path: str, seconds: int, work: Path, body: bytes | None = None) -> float:
    """p50 latency (ms) of one connection, one request at a time (light load), measured by wrk."""
    args = ["wrk", "-t1", "-c1", f"-d{seconds}s", "--latency"]
    if body is not None:
        script = work / "post.lua"
        script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body.decode())}\n')
        args += ["-s", str(script)]
    output = subprocess.run(
        [*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    assert match, output
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return float(match.group(1)) * scale


def wrk(port: int, seconds: int) -> float:
    output = subprocess.run(
        ["wrk", "-t1", "-c4", f"-d{seconds}s", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert match, output
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        print(f"  wrk saw {errors.group(1)} non-2xx responses")
    return float(match.group(1))


def load(env: dict[str, str], project: Path, work: Path, seconds: int, duration_ms: float, task: Path) -> None:
    if not shutil.which("wrk"):
        print("[load] wrk is not installed (apt-get install wrk): skipped")
        return
    served = load_with(env, project, work, seconds, duration_ms, 2)
    # One environment leaves a core to serve and wrk: what the serve path allows when CPU is free.
    load_with(env, project, work, seconds, duration_ms, 1)
    uvicorn(env, work, seconds, task, served)


def load_with(
    env: dict[str, str], project: Path, work: Path, seconds: int, duration_ms: float, environments: int
) -> float:
    """wrk -t1 -c4 against serve with `environments`; prints throughput, its bounds and CPU per request."""
    log = work / f"serve-load-{environments}.log"
    # Logs on (to a file): the REPORT lines give the function's Duration under this load.
    server = Serve(["--concurrency", str(environments), "--event-format", "apigw-v2"], env, log, cwd=project)
    try:
        wrk(server.port, 1)  # warm every environment
        seen = set(server.durations())
        workers = children(server.process.pid)
        before = [cpu_seconds(pid) for pid in [server.process.pid, *workers]]
        serve_before = cpu_times(server.process.pid)
        wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        served = wrk(server.port, seconds)
        elapsed = time.monotonic() - started
        wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        after = [cpu_seconds(pid) for pid in [server.process.pid, *workers]]
        serve_after = cpu_times(server.process.pid)
        time.sleep(0.3)
        loaded = [ms for request_id, ms in server.durations().items() if request_id not in seen]
    finally:
        server.stop()
    requests = served * elapsed
    serve_cpu = (after[0] - before[0]) / requests * 1000
    function_cpu = sum(a - b for a, b in zip(after[1:], before[1:], strict=True)) / requests * 1000
    user, system = ((a - b) / requests * 1000 for a, b in zip(serve_after, serve_before, strict=True))
    wrk_seconds = wrk_after.ru_utime + wrk_after.ru_stime - wrk_before.ru_utime - wrk_before.ru_stime
    wrk_cpu = wrk_seconds / requests * 1000
    label = f"[load, {environments} env]"
    print(
        f"{label} CPU per request: serve process {serve_cpu:.3f} ms (user {user:.3f}, system {system:.3f}), "
        f"function processes {function_cpu:.3f} ms, wrk {wrk_cpu:.3f} ms; {os.cpu_count()} cores"
    )
    bound = environments * 1000 / duration_ms
    print(f"{label} {served:.0f} req/s; bound {environments} / {duration_ms:.3f} ms = {bound:.0f} req/s")
    print(f"{label}   ratio to the bound: {served / bound:.2f}x")
    loaded_duration = statistics.median(loaded)
    loaded_bound = environments * 1000 / loaded_duration
    print(
        f"{label}   REPORT Duration under this load: p50 {loaded_duration:.3f} ms; "
        f"bound {environments} / that = {loaded_bound:.0f} req/s; ratio {served / loaded_bound:.2f}x"
    )
    # What this machine's cores allow at these CPU costs, whatever the server does.
    per_request = serve_cpu + function_cpu + wrk_cpu
    ceiling = (os.cpu_count() or 1) * 1000 / per_request
    print(f"{label}   CPU ceiling: {os.cpu_count()} cores / {per_request:.3f} ms = {ceiling:.0f} req/s")
    return served


def uvicorn(env: dict[str, str], work: Path, seconds: int, task: Path, served: float) -> None:
    """uvicorn, one worker, the same app from the same unpacked files, the same wrk."""
    uvicorn_dir = work / "uvicorn"
    from uv_lambda.uv import find_uv

    python = find_uv().find_python("3.13")
    find_uv().run(["pip", "install", "--quiet", "--target", str(uvicorn_dir), "--python", str(python), "uvicorn"])
    port_probe = __import__("socket").create_server(("127.0.0.1", 0))
    port = port_probe.getsockname()[1]
    port_probe.close()
    process = subprocess.Popen(
        [str(python), "-m", "uvicorn", "app.main:app", "--port", str(port), "--workers", "1", "--log-level", "warning"],
        cwd=task,
        env={**env, "PYTHONPATH": f"{task}:{uvicorn_dir}"},
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                sequential(port, 20, "GET", "/", None)
                break
            except OSError:
                time.sleep(0.1)
        direct = wrk(port, seconds)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    print(f"[load] uvicorn, 1 worker: {direct:.0f} req/s; serve / uvicorn = {served / direct:.2f}x")


MODES = ("require", "off")  # --sandbox: bwrap, and none


def namespace_setup(work: Path, runs: int) -> None:
    """What starting a process in the sandbox costs: `python3.13 -c pass` through the sandbox's
    bwrap command line and directly, interleaved."""
    from uv_lambda.emulator import sandbox
    from uv_lambda.uv import find_uv

    bwrap, problem = sandbox.bwrap_problem()
    if bwrap is None:
        print(f"[namespace set-up] skipped: {problem}")
        return
    interpreter = find_uv().find_python("3.13")
    folders = [work / "empty-task", work / "empty-opt", work / "empty-runtime"]
    for folder in folders:
        folder.mkdir(exist_ok=True)
    inside = sandbox.bwrap_command(
        bwrap,
        ["/var/lang/bin/python3.13", "-c", "pass"],
        sandbox.HostPaths(*folders, interpreter, "3.13"),
        tmp_megabytes=512,
    )
    times: dict[str, list[float]] = {"sandboxed": [], "direct": []}
    for _ in range(runs):
        for label, command in (("sandboxed", inside), ("direct", [str(interpreter), "-c", "pass"])):
            started = time.perf_counter()
            subprocess.run(command, env={"LD_LIBRARY_PATH": "/var/lang/lib"}, check=True)
            times[label].append((time.perf_counter() - started) * 1000)
    sandboxed, direct = (statistics.median(times[label]) for label in ("sandboxed", "direct"))
    print(
        f"[namespace set-up] python3.13 -c pass: in the sandbox {sandboxed:.1f} ms, directly {direct:.1f} ms: "
        f"bwrap and its mounts add {sandboxed - direct:.1f} ms (medians of {runs})"
    )


def sandbox_comparison(
    apps: list[tuple[str, Path, str, str, list[str]]], env: dict[str, str], work: Path, count: int, cold: int
) -> None:
    """Sandboxed and unsandboxed figures side by side (see the module's docstring).

    The machine this runs on may be shared: every pair of figures is measured interleaved
    (alternating batches), so that a change in load hits both sides alike.
    """
    from uv_lambda.config import FunctionConfig
    from uv_lambda.model import Function

    rounds = 10
    for name, code, handler, module, serve_args in apps:
        settings = Function.configured(FunctionConfig(name=name, handler=handler, runtime="python3.13"))
        warm = _warm_by_mode(name, serve_args, env, work, count, rounds)
        in_process, signal_costs = _freeze_by_mode(settings, code, count, rounds)
        firsts, bare = _cold_by_mode(settings, code, module, work, cold)
        for mode in MODES:
            label = "sandboxed" if mode == "require" else "unsandboxed"
            with_freeze, without = (statistics.median(in_process[(mode, f)]) for f in (True, False))
            first = statistics.median(firsts[mode])
            print(
                f"[{name}, {label}] warm invoke via Invoke API p50 {percentile(warm[mode], 0.5):.3f} ms; "
                f"LocalFunction.invoke p50 {with_freeze:.3f} ms, without the freeze {without:.3f} ms "
                f"(freeze/thaw {with_freeze - without:+.3f} ms per invocation; its signals "
                f"{signal_costs[mode] * 1000:.0f} us); cold start {first:.1f} ms - "
                f"bare import {bare:.1f} ms = overhead {first - bare:.1f} ms (medians of {cold})"
            )
        sandboxed, plain = (percentile(warm[mode], 0.5) for mode in MODES)
        cold_sandboxed, cold_plain = (statistics.median(firsts[mode]) for mode in MODES)
        print(
            f"[{name}] sandboxed / unsandboxed: warm invoke {sandboxed / plain:.2f}x; "
            f"cold start {cold_sandboxed - cold_plain:+.1f} ms ({cold_sandboxed / cold_plain:.2f}x)"
        )


def _warm_by_mode(
    name: str, serve_args: list[str], env: dict[str, str], work: Path, count: int, rounds: int
) -> dict[str, list[float]]:
    """Warm Invoke API latencies (ms) through `serve` in each sandbox mode, in alternating batches."""
    servers = {
        mode: Serve([*serve_args, "--concurrency", "1", "--sandbox", mode], env, work / f"{name}-{mode}.log")
        for mode in MODES
    }
    warm: dict[str, list[float]] = {mode: [] for mode in MODES}
    try:
        for server in servers.values():
            sequential(server.port, 50, "POST", INVOKE_PATH, GUIDE_EVENT)
        for _ in range(rounds):
            for mode, server in servers.items():
                warm[mode] += sequential(server.port, count // rounds, "POST", INVOKE_PATH, GUIDE_EVENT)[0]
    finally:
        for server in servers.values():
            server.stop()
    return warm


def _freeze_by_mode(
    settings: Function, code: Path, count: int, rounds: int
) -> tuple[dict[tuple[str, bool], list[float]], dict[str, float]]:
    """LocalFunction.invoke latencies (ms) with and without the freeze between invocations,
    and what the freeze's signals cost (ms), in each sandbox mode."""
    from uv_lambda.emulator.environment import ExecutionEnvironment
    from uv_lambda.emulator.function import LocalFunction, RunOptions

    # The freeze's cost: the same environment, rounds with and without it, alternating.
    freeze = ExecutionEnvironment._freeze
    in_process: dict[tuple[str, bool], list[float]] = {}
    signal_costs: dict[str, float] = {}
    for mode in MODES:
        with LocalFunction.open(settings, code, [], RunOptions(pass_credentials=False, sandbox=mode)) as function:
            for _ in range(50):
                function.invoke(GUIDE_EVENT)
            try:
                for _ in range(rounds):
                    for frozen in (True, False):
                        ExecutionEnvironment._freeze = freeze if frozen else lambda self: None  # type: ignore[method-assign]
                        calls = in_process.setdefault((mode, frozen), [])
                        for _ in range(count // rounds):
                            started = time.perf_counter()
                            function.invoke(GUIDE_EVENT)
                            calls.append((time.perf_counter() - started) * 1000)
            finally:
                ExecutionEnvironment._freeze = freeze  # type: ignore[method-assign]
            # The signals themselves: thaw and freeze again the idle (frozen) environment.
            function.invoke(GUIDE_EVENT)
            [environment] = function.pool._environments

            def signals(environment: ExecutionEnvironment = environment) -> float:
                started = time.perf_counter()
                for _ in range(1000):
                    environment._thaw()
                    environment._freeze()
                return (time.perf_counter() - started) * 1000 / 1000

            signal_costs[mode] = function.pool.loop_thread.call(signals)
    return in_process, signal_costs


def _cold_by_mode(
    settings: Function, code: Path, module: str, work: Path, cold: int
) -> tuple[dict[str, list[float]], float]:
    """First-response times (ms) of fresh environments in each mode, and the median bare import."""
    from uv_lambda.emulator.function import LocalFunction, RunOptions

    # Cold starts, alternating modes, each against the bare import on the host.
    task = work / f"{settings.name}-task"
    with zipfile.ZipFile(code) as bundle:
        bundle.extractall(task)
    firsts: dict[str, list[float]] = {mode: [] for mode in MODES}
    imports: list[float] = []
    for _ in range(cold):
        for mode in MODES:
            options = RunOptions(pass_credentials=False, sandbox=mode)
            with LocalFunction.open(settings, code, [], options) as function:
                started = time.perf_counter()
                result = function.invoke(GUIDE_EVENT)
                firsts[mode].append((time.perf_counter() - started) * 1000)
                assert not result.function_error, result.payload
                spec = function.spec
        started = time.perf_counter()
        subprocess.run(
            [str(spec.interpreter), "-c", f"import {module}"],
            cwd=task,
            env={
                "PYTHONPATH": str(spec.runtime_folder),
                "PATH": os.environ["PATH"],
                "PYTHONDONTWRITEBYTECODE": "1",
            },
            check=True,
        )
        imports.append((time.perf_counter() - started) * 1000)
    return firsts, statistics.median(imports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=11)
    parser.add_argument("--load-seconds", type=int, default=10)
    parser.add_argument("--sandbox-only", action="store_true", help="only the sandboxed / unsandboxed comparison")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="uv-lambda-bench-"))
    env = environment(work / "cache")
    os.environ.update({k: env[k] for k in ("PATH", "UV_PYTHON_DOWNLOADS", "UV_LAMBDA_CACHE_DIR")})
    try:
        project = work / "fastapi-hello"
        shutil.copytree(REPO / "examples" / "fastapi-hello", project, ignore=shutil.ignore_patterns("dist", ".venv"))
        subprocess.run([sys.executable, "-m", "uv_lambda", "-q", "build", str(project)], env=env, check=True)
        build = next((project / "dist" / "lambda").iterdir())
        code = build / "function.zip"
        trivial = work / "trivial.zip"
        with zipfile.ZipFile(trivial, "w") as bundle:
            bundle.writestr("app.py", TRIVIAL)
        trivial_args = ["--artifact", str(trivial), "--handler", "app.handler", "--runtime", "python3.13"]
        namespace_setup(work, 3 * options.cold)
        sandbox_comparison(
            [
                ("trivial", trivial, "app.handler", "app", trivial_args),
                ("fastapi", code, "app.main.handler", "app.main", ["--artifact", str(build)]),
            ],
            env,
            work,
            options.requests,
            options.cold,
        )
        if options.sandbox_only:
            return
        warm_invoke("trivial", trivial_args, env, work, options.requests)
        in_process("trivial", trivial, [], "app.handler", options.requests)
        duration = warm_invoke("fastapi", ["--artifact", str(build)], env, work, options.requests)
        in_process("fastapi", code, [], "app.main.handler", options.requests)
        cold_start("fastapi", code, [], "app.main.handler", "app.main", options.cold)
        cold_start("trivial", trivial, [], "app.handler", "app", options.cold)
        get_duration = serve_overhead(env, project, work, options.requests)
        task = work / "task"
        with zipfile.ZipFile(code) as bundle:
            bundle.extractall(task)
        load(env, project, work, options.load_seconds, get_duration or duration, task)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
