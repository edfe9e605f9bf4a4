"""One execution environment: a runtime process, its Runtime API, and its lifecycle.

Cold start: the process starts, imports the handler (the init phase) and long-polls `next`.
Each `invoke` hands it one event; the answer, the deadline or the process's end calls back
with the result. An environment that timed out, crashed, ran out of memory or failed to
initialise is dead and is never used again; the pool starts a fresh one.

Everything here runs on the event loop's thread (`loop.py`), except the small thread that
waits for the process to exit and reports it to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from uv_lambda import limits, proc
from uv_lambda.emulator import lambda_errors, log_lines, reaper, sandbox
from uv_lambda.emulator.function_variables import function_environment
from uv_lambda.emulator.invocation import Invocation, Outcome
from uv_lambda.emulator.memory import EnvironmentMemory
from uv_lambda.emulator.process_output import OutputCollector
from uv_lambda.emulator.process_tree import children
from uv_lambda.emulator.runtime_api import Poll, Reply, RuntimeApiServer
from uv_lambda.emulator.spec import FunctionSpec
from uv_lambda.errors import UsageError
from uv_lambda.limits import MAX_RUNTIME_RESPONSE

log = logging.getLogger(__name__)

# How often the pool ticks: a running invocation's memory is checked against the configured
# limit, and the runtime's output collected, so that a chatty function does not fill its pipe.
TICK_SECONDS = 0.02


@dataclass(frozen=True)
class InvocationResult:
    request_id: str
    payload: bytes  # what `aws lambda invoke` writes to its output file
    function_error: bool  # X-Amz-Function-Error: Unhandled
    error_type: str | None
    log: str  # the function's log for this invocation, START to REPORT
    report: log_lines.Report
    cold_start: bool


# Called once per invocation with its result, or None when it never reached the runtime.
Done = Callable[[InvocationResult | None], None]


def _readable(output: bytes) -> str:
    # awslambdaric joins a multi-line record (a traceback) with \r so that CloudWatch keeps it
    # in one event; the console shows it on separate lines, and so do we.
    return output.decode("utf-8", "replace").replace("\r", "\n").rstrip("\n")


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class ExecutionEnvironment:
    def __init__(
        self, spec: FunctionSpec, loop: asyncio.AbstractEventLoop, *, gate: socket.socket | None = None
    ) -> None:
        """Start the runtime process (call on the loop's thread). `gate`: its stdin, a socket;
        the runtime waits there before it imports the handler (a sandboxed start made before
        its tree is ready, see early_start.py)."""
        self.spec = spec
        self._gate = gate
        self._loop = loop
        self._poll: Poll | None = None  # the runtime's long-poll, while it waits for an event
        self._pending: Invocation | None = None  # handed over, not yet taken by `next`
        self._current: Invocation | None = None
        self._on_done: Done | None = None
        self._cold = False
        self._deadline = math.inf  # time.monotonic() by which the current invocation must end
        self._deadline_timer: asyncio.TimerHandle | None = None  # set when the deadline is near
        self._initialized = False
        self._closing = False
        self._oom = False
        self._init_error: tuple[bytes, str | None] | None = None
        self._init_log = b""
        self.init_duration_ms: float | None = None
        # Called once, on the loop, when the init phase is over (or the process ended in it).
        self.on_ready: Callable[[], None] | None = None
        self.invocations = 0
        self.returncode: int | None = None
        self._peak_kb = 0
        self._server = RuntimeApiServer(loop, self, spec.arn)
        self._host = sandbox.HostPaths(
            spec.layout.task_root, spec.layout.opt, spec.runtime_folder, spec.interpreter, spec.python_version
        )
        self._where = sandbox.paths(spec.sandbox, self._host)
        self._env = function_environment(spec, self._server.address, self._where)
        # The init phase: 10 s from the start; an init that fails or overruns is run again
        # when the first event is handled, under the function's own timeout (Lambda's
        # "suppressed init"). `_retried_at` is when that second attempt started.
        self._retried_at: float | None = None
        self._init_reports: list[str] = []  # INIT_REPORT lines of a failed first attempt
        self._frozen = False
        self._frozen_others: list[int] = []  # processes outside the process group, stopped too
        self._memory: EnvironmentMemory | None = None
        self._started = time.monotonic()
        self._init_start = log_lines.init_start_line(spec.python_version, spec.region)
        self._spawn()

    def _spawn(self) -> None:
        """Start the runtime process (again, for a retried init)."""
        spec = self.spec
        env = self._env
        restore: str | None = None
        if spec.sandbox.enabled:
            library_path = env.get("LD_LIBRARY_PATH", "")
            start = sandbox.start_library_path(self._where, library_path)
            if start != library_path:
                env, restore = {**env, "LD_LIBRARY_PATH": start}, library_path
        gate, self._gate = self._gate, None  # a retried init starts ungated
        command = sandbox.runtime_command(
            self._where,
            sandboxed=spec.sandbox.enabled,
            python_version=spec.python_version,
            restore_library_path=restore,
            gated=gate is not None,
        )
        if spec.sandbox.bwrap is not None:
            command = sandbox.bwrap_command(
                spec.sandbox.bwrap, command, self._host, tmp_megabytes=spec.ephemeral_storage_mb
            )
        try:
            process = proc.spawn(
                command,
                cwd=spec.layout.task_root,
                env=env,
                stdin=subprocess.DEVNULL if gate is None else gate.fileno(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                new_session=True,  # its own process group: a kill (or a freeze) takes its children too
                preexec=reaper.preexec(),  # and what leaves the group stays below it (reaper.py)
            )
        except OSError as exc:
            self._server.close()
            raise UsageError(
                f"cannot start {command[0]}: {exc.strerror}", "pass --python PATH to a working interpreter"
            ) from None
        self._process = process
        assert process.stdout is not None
        self._output = OutputCollector(process.stdout)
        self._memory = None  # found when the runtime first polls (see _environment_memory)
        # Exits are rare: a thread blocked in waitpid costs nothing per invocation.
        self._watcher = threading.Thread(target=self._wait_for_exit, args=(process,), name="runtime-exit", daemon=True)
        self._watcher.start()

    def gate_opened(self, spec: FunctionSpec, before_gate: float) -> None:
        """A gated start's tree is in place (early_start.py): from now on the environment is
        `spec`'s, and its init counts the `before_gate` seconds it took to reach the gate,
        not the wait there."""
        self.spec = spec
        self._started = time.monotonic() - before_gate

    def _environment_memory(self) -> EnvironmentMemory | None:
        """The memory of every process of the environment, counted from the runtime process
        (in a sandbox: below bwrap's init process, which adopts orphans)."""
        if self._memory is None:
            if not self.spec.sandbox.enabled:
                self._memory = EnvironmentMemory(self._process.pid)
            else:
                init = children(self._process.pid)
                runtime = children(init[0]) if init else []
                if runtime:
                    self._memory = EnvironmentMemory(runtime[0], init[0])
        return self._memory

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def runtime_pid(self) -> int | None:
        """The runtime process's pid on this machine (in a sandbox, the one below bwrap's),
        once it has started."""
        memory = self._environment_memory()
        return memory.runtime.pid if memory is not None else None

    @property
    def alive(self) -> bool:
        """Can take another event: running, initialised without error, not being shut down."""
        return self.returncode is None and not self._closing and self._init_error is None

    def kill(self) -> None:
        if not self.spec.sandbox.enabled and self._process.returncode is None:
            # Children that left the process group (setsid) go too, a double-forked daemon
            # included: the runtime process is their subreaper (reaper.py). In a sandbox the
            # PID namespace ends them all.
            reaper.kill_descendants(self._process.pid)
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        if self._process.returncode is not None:
            return  # reaped: its process group id may belong to someone else by now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signum)

    def _freeze(self) -> None:
        """Stop the environment's processes while it waits for an event, as Lambda freezes
        it: background threads and children do not run between invocations. The process
        group, and the processes found below the runtime when its memory was last read (one
        that called setsid left the group)."""
        if self._frozen:
            return
        self._frozen = True
        self._signal(signal.SIGSTOP)
        memory = self._memory
        self._frozen_others = list(memory.others) if memory is not None else []
        for pid in self._frozen_others:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGSTOP)

    def _thaw(self) -> None:
        if not self._frozen:
            return
        self._frozen = False
        self._signal(signal.SIGCONT)
        for pid in self._frozen_others:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGCONT)
        self._frozen_others = []

    def close(self) -> None:
        """Stop the process and the Runtime API; safe to call more than once.

        An invocation still in flight is answered when the process's end is seen.
        """
        self._closing = True
        self._poll = None
        self.kill()
        self._server.close()

    def wait_closed(self, timeout: float) -> None:
        """Wait for the process to be reaped (from a thread other than the loop's)."""
        self._watcher.join(timeout)
        if self._watcher.is_alive():
            log.debug("runtime process %d did not exit after SIGKILL", self._process.pid)

    def _wait_for_exit(self, process: subprocess.Popen[bytes]) -> None:
        returncode = process.wait()
        if self.spec.sandbox.enabled and 128 < returncode < 128 + 65:
            # bwrap exits with 128 + N when the runtime was ended by signal N.
            returncode = 128 - returncode
        with contextlib.suppress(RuntimeError):  # the loop is closed: this process is ending
            self._loop.call_soon_threadsafe(self._exited, process, returncode)

    def _exited(self, process: subprocess.Popen[bytes], returncode: int) -> None:
        if process is not self._process:
            return  # the first attempt of a retried init: its end was expected
        # Its last words (a traceback) are all in the pipe now that it is gone.
        self._output.collect()
        invocation = self._current
        if self._may_retry_init(invocation):
            status = "error"
            error_type = self._init_error[1] if self._init_error is not None else lambda_errors.EXIT_ERROR
            self._retry_init(status, error_type)
            return
        self.returncode = returncode
        self._poll = None
        self._ready()
        if invocation is not None and not invocation.finished:
            request_id = invocation.request_id
            if self._oom:
                self._finish(
                    Outcome.FUNCTION_ERROR,
                    lambda_errors.out_of_memory(request_id),
                    error_type=lambda_errors.EXIT_ERROR,
                    status="error",
                )
            elif self._init_error is not None:
                body, error_type = self._init_error
                self._finish(Outcome.FUNCTION_ERROR, body, error_type=error_type, status="error")
            elif invocation.delivered or not self._initialized:
                # Died while handling the event, or during init (os._exit or a crash on import).
                self._finish(
                    Outcome.FUNCTION_ERROR,
                    lambda_errors.exited(request_id, returncode),
                    error_type=lambda_errors.EXIT_ERROR,
                    status="error",
                )
            else:
                # Died while idle in its long-poll: the event never reached it; it goes elsewhere.
                self._finish(Outcome.UNDELIVERED)
        self._output.close()
        if self._memory is not None:
            self._memory.close()

    def _may_retry_init(self, invocation: Invocation | None) -> bool:
        """The first init attempt failed or overran while an event waits: run it again."""
        return (
            invocation is not None
            and not invocation.finished
            and not self._initialized
            and self._retried_at is None
            and not self._closing
            and not self._oom
        )

    def _retry_init(self, status: str, error_type: str | None) -> None:
        """Lambda's suppressed init: the first attempt is reported in an INIT_REPORT line, and
        the init runs again as part of the first invocation, under the function's timeout."""
        now = time.monotonic()
        self._output.collect()
        self._init_log += self._output.drain()
        fields = [
            f"INIT_REPORT Init Duration: {(now - self._started) * 1000:.2f} ms",
            "Phase: init",
            f"Status: {status}",
        ]
        if status == "error" and error_type:
            fields.append(f"Error Type: {error_type}")
        self._init_reports.append("\t".join(fields))
        self.kill()
        self._output.close()
        if self._memory is not None:
            self._memory.close()
        self._init_error = None
        self._retried_at = now
        self._deadline = now + self.spec.timeout_seconds
        self._spawn()

    def _ready(self) -> None:
        callback, self.on_ready = self.on_ready, None
        if callback is not None:
            callback()

    # --- the Runtime API backend -----------------------------------------------------------

    def next_invocation(self, poll: Poll) -> None:
        """The runtime's long-poll: answered now if an event waits, else when one comes."""
        if not self._initialized:
            self._initialized = True
            if self._retried_at is None:
                self.init_duration_ms = (time.monotonic() - self._started) * 1000
                self._init_log += self._output.drain()
            self._sample_memory_peak()
            self._ready()
        if self._closing or self.returncode is not None:
            poll.hang_up()
            return
        invocation, self._pending = self._pending, None
        if invocation is None:
            if self._current is not None and self._current.finished:
                self._current = None
            self._poll = poll
            self._freeze()
            return
        self._deliver(invocation, poll)

    def poll_lost(self, poll: Poll) -> None:
        if self._poll is poll:
            # The runtime's end of its long-poll is gone: it has died (or will); no event is
            # sent to it any more.
            self._poll = None
            self._closing = True
            self.kill()

    def _deliver(self, invocation: Invocation, poll: Poll) -> None:
        if not poll.peer_alive():
            # The runtime's end of this long-poll is gone: it never sees the event.
            self._closing = True
            poll.hang_up()
            self._finish(Outcome.UNDELIVERED)
            return
        self._thaw()
        if self._retried_at is not None and invocation is self._first_invocation():
            # The retried init spent part of the function's timeout.
            remaining = max(0.0, self._deadline - time.monotonic())
            invocation.mark_delivered(remaining)
        else:
            invocation.mark_delivered(self.spec.timeout_seconds)
            self._deadline = time.monotonic() + self.spec.timeout_seconds
        poll.send(invocation)

    def _first_invocation(self) -> Invocation | None:
        return self._current if self.invocations == 1 else None

    def _matching(self, request_id: str) -> Invocation | None:
        current = self._current
        return current if current is not None and current.request_id == request_id else None

    def post_response(self, request_id: str, body: bytes, reply: Reply) -> None:
        invocation = self._matching(request_id)
        if invocation is None:
            reply(400, f"unknown request id {request_id}")
        elif len(body) > MAX_RUNTIME_RESPONSE:  # (the Runtime API refuses it before reading it)
            self.response_too_large(request_id, len(body))
            reply(413, "Response payload too large")
        elif invocation.finished:
            reply(403, f"invocation {request_id} was already answered")
        else:
            # Acknowledge first: the runtime heads back to `next` while the caller is answered.
            reply(202, "")
            self._finish(Outcome.SUCCESS, body)

    def post_error(self, request_id: str, body: bytes, error_type: str | None, reply: Reply) -> None:
        invocation = self._matching(request_id)
        if invocation is None:
            reply(400, f"unknown request id {request_id}")
        elif invocation.finished:
            reply(403, f"invocation {request_id} was already answered")
        else:
            reply(202, "")
            kind = lambda_errors.error_type_of(body) or error_type or lambda_errors.UNKNOWN
            self._finish(Outcome.FUNCTION_ERROR, body, error_type=kind)

    def post_init_error(self, body: bytes, error_type: str | None) -> tuple[int, str]:
        kind = error_type or lambda_errors.error_type_of(body) or lambda_errors.UNKNOWN
        if self._initialized:
            return 403, "the init phase is over"
        self._init_error = (body, kind)
        # The runtime exits right after this; its exit answers the waiting event, with the
        # init log (awslambdaric prints the error) collected by then.
        return 202, ""

    def response_too_large(self, request_id: str, size: int | None) -> None:
        if self._matching(request_id) is not None:
            self._finish(
                Outcome.FUNCTION_ERROR,
                lambda_errors.response_too_large(size, MAX_RUNTIME_RESPONSE),
                error_type=lambda_errors.RESPONSE_TOO_LARGE,
            )

    # --- invoking ------------------------------------------------------------------------

    def invoke(self, invocation: Invocation, on_done: Done) -> None:
        """Run one event; `on_done` gets its result, or None when it never reached the runtime.

        The environment may be dead afterwards (timeout, crash, init error): check `alive`.
        """
        self._cold = self.invocations == 0
        self.invocations += 1
        self._current = invocation
        self._on_done = on_done
        if not self.alive:
            self._finish(Outcome.UNDELIVERED)
            return
        timeout = float(self.spec.timeout_seconds)
        # A cold environment may spend the init phase (10 s) before it polls (then the init is
        # retried, see _retry_init); a warm one must come back to `next` within the timeout.
        if self._initialized:
            self._deadline = time.monotonic() + timeout
        elif self._retried_at is None:
            self._deadline = self._started + limits.INIT_TIMEOUT_SECONDS
        poll, self._poll = self._poll, None
        if poll is None:
            self._pending = invocation  # the runtime's next long-poll picks it up
        else:
            self._deliver(invocation, poll)

    @property
    def busy(self) -> bool:
        """An invocation is in flight (handed over, not answered yet)."""
        return self._current is not None and not self._current.finished

    def tick(self, now: float) -> None:
        """The pool's periodic check of the invocation in flight: deadline, memory, output.

        A pool-wide tick instead of a timer per invocation: a warm invocation (about a
        millisecond) then costs no timer at all. A deadline due before the next tick gets
        a timer of its own, so timeouts stay exact.
        """
        invocation = self._current
        if invocation is None or invocation.finished:
            return
        self._output.collect()
        if now >= self._deadline:
            self._deadline_passed(invocation)
            return
        if invocation.delivered and not self._sample_memory(invocation):
            return
        if self._deadline - now < TICK_SECONDS and self._deadline_timer is None:
            # The loop's clock is time.monotonic(), the clock of every deadline here.
            self._deadline_timer = self._loop.call_at(self._deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        self._deadline_timer = None
        invocation = self._current
        if invocation is None or invocation.finished:
            return
        now = time.monotonic()
        if now >= self._deadline:
            self._deadline_passed(invocation)
        else:  # delivered meanwhile: its deadline moved
            self.tick(now)

    def _deadline_passed(self, invocation: Invocation) -> None:
        if self._may_retry_init(invocation):
            self._retry_init("timeout", None)
        else:
            self._time_out(invocation)

    def _sample_memory(self, invocation: Invocation) -> bool:
        """Track the peak; kill the process and answer OOM when it is over its memory."""
        memory = self._environment_memory()
        if memory is None:
            return True
        rss, peak = memory.sample()
        if peak:
            self._peak_kb = max(self._peak_kb, peak)
        if rss is None or rss <= self.spec.memory_mb * 1024:
            return True
        self._stop_over_memory(invocation, self._finish)
        return False

    def _stop_over_memory(self, invocation: Invocation, answer: Callable[..., object]) -> None:
        """Stop the environment, as Lambda does one over its memory size; `answer` records the
        error: the caller sees the runtime killed (Runtime.ExitError), REPORT says why."""
        self._oom = True
        self._closing = True
        self.kill()
        answer(
            Outcome.FUNCTION_ERROR,
            lambda_errors.out_of_memory(invocation.request_id),
            error_type=lambda_errors.EXIT_ERROR,
            status="error",
        )

    def _time_out(self, invocation: Invocation) -> None:
        self._closing = True
        self.kill()
        self._finish(
            Outcome.FUNCTION_ERROR,
            lambda_errors.timeout(invocation.request_id, float(self.spec.timeout_seconds)),
            error_type=lambda_errors.TIMEOUT,
            status="timeout",
        )

    def _finish(
        self, outcome: Outcome, body: bytes = b"", *, error_type: str | None = None, status: str | None = None
    ) -> None:
        """Answer the current invocation (only the first answer counts) and call back with it."""
        invocation = self._current
        if invocation is None or not invocation.finish(outcome, body, error_type=error_type, status=status):
            return
        if self._pending is invocation:
            self._pending = None
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        on_done, self._on_done = self._on_done, None
        if on_done is None:
            return
        if outcome is Outcome.UNDELIVERED:
            # From a fresh callback: the pool retries, and may close this environment, while
            # this one's caller is still on the stack.
            self._loop.call_soon(on_done, None)
            return
        self._check_peak_memory(invocation)
        on_done(self._result(invocation, self._cold))

    def _check_peak_memory(self, invocation: Invocation) -> None:
        """An invocation whose peak went over the memory size between two samples is an OOM too.

        Lambda would have stopped it; the answer it managed to give is replaced.
        """
        if self.returncode is not None:
            return
        self._sample_memory_peak()
        # A timeout or a crash is what Lambda saw first: it stays the answer.
        if invocation.status is None and self._peak_kb > self.spec.memory_mb * 1024:
            self._stop_over_memory(invocation, invocation.replace_answer)

    def _result(self, invocation: Invocation, cold_start: bool) -> InvocationResult:
        """The caller's view of a finished invocation: payload, error flag, log and REPORT."""
        # (the peak memory was sampled by _check_peak_memory just before)
        output = self._output.drain()
        delivered = invocation.delivered_at or invocation.finished_at or time.monotonic()
        finished = invocation.finished_at or time.monotonic()
        duration_ms = (finished - delivered) * 1000
        if invocation.status == "timeout":
            duration_ms = self.spec.timeout_seconds * 1000.0
        init_ms = self.init_duration_ms if cold_start else None
        retried = cold_start and self._retried_at is not None
        if retried:
            # The retried init ran as part of this invocation: its Duration includes it.
            duration_ms = (finished - (self._retried_at or finished)) * 1000
            if invocation.status == "timeout":
                duration_ms = self.spec.timeout_seconds * 1000.0
        elif cold_start and init_ms is None:  # died or failed during init
            init_ms = ((invocation.finished_at or time.monotonic()) - self._started) * 1000
            duration_ms = 0.0
        error_type = invocation.error_type if invocation.status == "error" else None
        if self._oom:
            error_type = lambda_errors.OUT_OF_MEMORY  # REPORT names the cause; the caller saw the kill
        report = log_lines.Report(
            request_id=invocation.request_id,
            duration_ms=duration_ms,
            memory_size_mb=self.spec.memory_mb,
            # Lambda's figure is the environment's, which its memory size caps.
            max_memory_used_mb=min(log_lines.megabytes(self._peak_kb), self.spec.memory_mb),
            init_duration_ms=init_ms,
            status=invocation.status,
            error_type=error_type,
        )
        text: list[str] = [self._init_start] if cold_start else []
        init_log = self._init_log if cold_start else b""
        self._init_log = b""
        if not self._initialized and not retried:  # everything it printed belongs to the failed init
            init_log, output = init_log + output, b""
        if init_log:
            text.append(_readable(init_log))
        if cold_start:
            text.extend(self._init_reports)
        text.append(log_lines.start_line(invocation.request_id, self.spec.version))
        if output:
            text.append(_readable(output))
        if invocation.status == "timeout":
            message = lambda_errors.timeout_message(self.spec.timeout_seconds)
            text.append(f"{_timestamp()} {invocation.request_id} {message}")
        text.append(log_lines.end_line(invocation.request_id))
        text.append(report.line())
        return InvocationResult(
            request_id=invocation.request_id,
            payload=invocation.body,
            function_error=invocation.outcome is Outcome.FUNCTION_ERROR,
            error_type=invocation.error_type,
            log="\n".join(text) + "\n",
            report=report,
            cold_start=cold_start,
        )

    def _sample_memory_peak(self) -> None:
        memory = self._environment_memory()
        if memory is None:
            return
        _, peak = memory.sample()
        if peak:
            self._peak_kb = max(self._peak_kb, peak)
