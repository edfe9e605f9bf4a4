"""One execution environment: a runtime process, its Runtime API, and its lifecycle.

Cold start: the process starts, imports the handler (the init phase) and long-polls `next`.
Each `invoke` hands it one event and waits for the answer, the deadline, or the process's
end. An environment that timed out, crashed, ran out of memory or failed to initialise is
dead and is never used again; the pool starts a fresh one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from uv_lambda import proc
from uv_lambda.emulator import lambda_errors, log_lines
from uv_lambda.emulator.environ import function_environment
from uv_lambda.emulator.invocation import Invocation, Outcome
from uv_lambda.emulator.limits import INIT_TIMEOUT_SECONDS, MAX_SYNC_PAYLOAD
from uv_lambda.emulator.memory import ProcessMemory
from uv_lambda.emulator.process_output import OutputCollector
from uv_lambda.emulator.runtime_api import Poll, Reply, RuntimeApiServer
from uv_lambda.emulator.spec import FunctionSpec
from uv_lambda.errors import UsageError

log = logging.getLogger(__name__)

# How often a running invocation's memory is checked against the configured limit.
_MEMORY_POLL_SECONDS = 0.02


class _WaitingPoll:
    """A runtime blocked in `next`, which the invoking thread may answer directly."""

    def __init__(self, poll: Poll) -> None:
        self.poll = poll
        self.taken = False  # an invoker is sending an event on it
        self.done = False
        self.kept_open = True


@dataclass(frozen=True)
class InvocationResult:
    request_id: str
    payload: bytes  # what `aws lambda invoke` writes to its output file
    function_error: bool  # X-Amz-Function-Error: Unhandled
    error_type: str | None
    log: str  # the function's log for this invocation, START to REPORT
    report: log_lines.Report
    cold_start: bool


def _readable(output: bytes) -> str:
    # awslambdaric joins a multi-line record (a traceback) with \r so that CloudWatch keeps it
    # in one event; the console shows it on separate lines, and so do we.
    return output.decode("utf-8", "replace").replace("\r", "\n").rstrip("\n")


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class ExecutionEnvironment:
    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._lock = threading.Condition()
        self._pending: Invocation | None = None  # handed over, not yet taken by `next`
        self._waiting: _WaitingPoll | None = None  # the runtime's long-poll, when it waits
        self._current: Invocation | None = None
        self._initialized = False
        self._closing = False
        self._oom = False
        self._init_error: tuple[bytes, str | None] | None = None
        self._init_log = b""
        self.init_duration_ms: float | None = None
        self.invocations = 0
        self.returncode: int | None = None
        self._peak_kb = 0
        self._server = RuntimeApiServer(self, spec.arn)
        env = function_environment(spec, self._server.address, host_path=os.environ.get("PATH"))
        self._started = time.monotonic()
        # Held until the process's output and memory readers exist: the runtime may reach
        # `next` (which reads them) before this thread runs again.
        with self._lock:
            # `-S`: no site-packages of the interpreter leak in (Lambda's sys.path has only the
            # task root, /opt and the runtime); PYTHONPATH puts those in Lambda's order.
            try:
                self._process = proc.spawn(
                    [str(spec.interpreter), "-S", "-m", "awslambdaric", spec.handler],
                    cwd=spec.layout.task_root,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    new_session=True,  # its own process group: a kill takes its children too
                )
            except OSError as exc:
                self._server.close()
                raise UsageError(
                    f"cannot start {spec.interpreter}: {exc.strerror}", "pass --python PATH to a working interpreter"
                ) from None
            assert self._process.stdout is not None
            self._output = OutputCollector(self._process.stdout)
            self._memory = ProcessMemory(self._process.pid)
        self._watcher = threading.Thread(target=self._watch_exit, name="runtime-exit", daemon=True)
        self._watcher.start()

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        """Can take another event: running, initialised without error, not being shut down."""
        return self.returncode is None and not self._closing and self._init_error is None

    def kill(self) -> None:
        if self.returncode is not None:
            return  # reaped: its process group id may belong to someone else by now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)

    def close(self) -> None:
        """Stop the process and the Runtime API; safe to call more than once."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
            self._memory.close()
        self.kill()
        self._server.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.debug("runtime process %d did not exit after SIGKILL", self._process.pid)

    def _watch_exit(self) -> None:
        returncode = self._process.wait()
        # Collect the last words (a traceback, "Segmentation fault") before answering.
        self._output.wait_closed(0.2)
        with self._lock:
            self.returncode = returncode
            invocation = self._current
            self._lock.notify_all()
        if invocation is None or invocation.finished:
            return
        request_id = invocation.request_id
        if self._oom:
            invocation.finish(
                Outcome.FUNCTION_ERROR,
                lambda_errors.out_of_memory(request_id),
                error_type=lambda_errors.OUT_OF_MEMORY,
                status="error",
            )
        elif self._init_error is not None:
            body, error_type = self._init_error
            invocation.finish(Outcome.FUNCTION_ERROR, body, error_type=error_type, status="error")
        elif invocation.delivered or not self._initialized:
            # Died while handling the event, or during init (os._exit or a crash on import).
            invocation.finish(
                Outcome.FUNCTION_ERROR,
                lambda_errors.exited(request_id, returncode),
                error_type=lambda_errors.EXIT_ERROR,
                status="error",
            )
        else:
            # Died while idle in its long-poll: the event never reached it; it goes elsewhere.
            invocation.finish(Outcome.UNDELIVERED)

    # --- the Runtime API backend -----------------------------------------------------------

    def next_invocation(self, poll: Poll) -> bool:
        """Answer the runtime's long-poll: True once the event was sent on it, False to hang up.

        When the runtime is already waiting, the invoking thread sends the event itself
        (`invoke`), which saves a thread hand-off on every warm invocation.
        """
        with self._lock:
            if not self._initialized:
                self._initialized = True
                self.init_duration_ms = (time.monotonic() - self._started) * 1000
                self._init_log = self._output.drain()
                self._sample_memory_peak()
            self._current = None
            if self._pending is None:
                waiting = _WaitingPoll(poll)
                self._waiting = waiting
                while not waiting.done and (
                    waiting.taken or (self._pending is None and not self._closing and self.returncode is None)
                ):
                    self._lock.wait()
                if waiting.taken:
                    return waiting.kept_open
                self._waiting = None
            invocation, self._pending = self._pending, None
            if invocation is None:
                return False
            self._current = invocation
        return self._deliver(invocation, poll)

    def _deliver(self, invocation: Invocation, poll: Poll) -> bool:
        if not poll.peer_alive():
            # The runtime's end of this long-poll is gone: it never sees the event.
            invocation.finish(Outcome.UNDELIVERED)
            self._closing = True
            return False
        if not invocation.mark_delivered(self.spec.timeout_seconds):
            return False
        try:
            poll.send(invocation)
        except OSError:
            invocation.finish(Outcome.UNDELIVERED)
            self._closing = True
            return False
        return True

    def _matching(self, request_id: str) -> Invocation | None:
        current = self._current
        return current if current is not None and current.request_id == request_id else None

    def post_response(self, request_id: str, body: bytes, reply: Reply) -> None:
        invocation = self._matching(request_id)
        if invocation is None:
            reply(400, f"unknown request id {request_id}")
        elif len(body) > MAX_SYNC_PAYLOAD:
            self.response_too_large(request_id)
            reply(413, "Response payload too large")
        elif invocation.finished:
            reply(403, f"invocation {request_id} was already answered")
        else:
            # Acknowledge first: the runtime goes back to `next` while the caller is woken.
            reply(202, "")
            invocation.finish(Outcome.SUCCESS, body)

    def post_error(self, request_id: str, body: bytes, error_type: str | None, reply: Reply) -> None:
        invocation = self._matching(request_id)
        if invocation is None:
            reply(400, f"unknown request id {request_id}")
        elif invocation.finished:
            reply(403, f"invocation {request_id} was already answered")
        else:
            reply(202, "")
            kind = lambda_errors.error_type_of(body) or error_type or lambda_errors.UNKNOWN
            invocation.finish(Outcome.FUNCTION_ERROR, body, error_type=kind)

    def post_init_error(self, body: bytes, error_type: str | None) -> tuple[int, str]:
        kind = error_type or lambda_errors.error_type_of(body) or lambda_errors.UNKNOWN
        with self._lock:
            if self._initialized:
                return 403, "the init phase is over"
            self._init_error = (body, kind)
        # The runtime exits right after this; the watcher answers the waiting event then,
        # once the init log (awslambdaric prints the error) has been collected.
        return 202, ""

    def response_too_large(self, request_id: str) -> None:
        invocation = self._matching(request_id)
        if invocation is not None:
            invocation.finish(
                Outcome.FUNCTION_ERROR,
                lambda_errors.response_too_large(MAX_SYNC_PAYLOAD),
                error_type=lambda_errors.RESPONSE_TOO_LARGE,
            )

    # --- invoking ------------------------------------------------------------------------

    def _sample_memory(self) -> bool:
        """Track the peak; kill the process and return False when it is over its memory."""
        rss = self._memory.rss_kb()
        peak = self._memory.peak_rss_kb()
        if peak:
            self._peak_kb = max(self._peak_kb, peak)
        if rss is not None and rss > self.spec.memory_mb * 1024:
            self._oom = True
            self.kill()
            return False
        return True

    def invoke(self, invocation: Invocation) -> InvocationResult | None:
        """Run one event to its answer; None when it never reached the runtime (retry it).

        The environment may be dead afterwards (timeout, crash, init error): check `alive`.
        """
        cold = self.invocations == 0
        self.invocations += 1
        with self._lock:
            if self.returncode is not None or self._closing:
                # Died (or was shut down) between the pool's check and now: not delivered.
                invocation.finish(Outcome.UNDELIVERED)
                return None
            self._current = invocation
            waiting, self._waiting = self._waiting, None
            if waiting is None:
                self._pending = invocation  # the runtime's next long-poll picks it up
                self._lock.notify_all()
            else:
                waiting.taken = True
        if waiting is not None:
            kept_open = self._deliver(invocation, waiting.poll)
            with self._lock:
                waiting.done, waiting.kept_open = True, kept_open
                self._lock.notify_all()
        timeout = float(self.spec.timeout_seconds)
        # A cold environment may spend the init phase (10 s) before it polls; a warm one must
        # come back to `next` within the function's timeout.
        if self._initialized:
            delivery_deadline = time.monotonic() + timeout
        else:
            delivery_deadline = self._started + INIT_TIMEOUT_SECONDS + timeout
        if not invocation.wait(delivery_deadline, for_delivery=True):
            self._time_out(invocation, timeout)
        if not invocation.finished and invocation.delivered_at is not None:
            deadline = invocation.delivered_at + timeout
            while not invocation.finished:
                now = time.monotonic()
                if now >= deadline:
                    self._time_out(invocation, timeout)
                    break
                if invocation.wait(min(deadline, now + _MEMORY_POLL_SECONDS)):
                    break
                if not self._sample_memory():
                    invocation.wait(time.monotonic() + 5)  # the watcher reports the OOM
        invocation.wait(time.monotonic() + 5)
        if not invocation.finished:  # the process ignored SIGKILL: give up on it
            invocation.finish(
                Outcome.FUNCTION_ERROR,
                lambda_errors.document(lambda_errors.UNKNOWN, "the runtime did not answer"),
                error_type=lambda_errors.UNKNOWN,
                status="error",
            )
        if invocation.outcome is Outcome.UNDELIVERED:
            return None
        self._check_peak_memory(invocation)
        return self._result(invocation, cold)

    def _check_peak_memory(self, invocation: Invocation) -> None:
        """An invocation whose peak went over the memory size between two samples is an OOM too.

        Lambda would have stopped it; the answer it managed to give is replaced.
        """
        if self.returncode is not None:
            return
        self._sample_memory_peak()
        # A timeout or a crash is what Lambda saw first: it stays the answer.
        if invocation.status is None and self._peak_kb > self.spec.memory_mb * 1024:
            self._oom = True
            self._closing = True
            self.kill()
            invocation.replace_answer(
                Outcome.FUNCTION_ERROR,
                lambda_errors.out_of_memory(invocation.request_id),
                error_type=lambda_errors.OUT_OF_MEMORY,
                status="error",
            )

    def _time_out(self, invocation: Invocation, timeout: float) -> None:
        if invocation.finish(
            Outcome.FUNCTION_ERROR,
            lambda_errors.timeout(invocation.request_id, timeout),
            error_type=lambda_errors.TIMEOUT,
            status="timeout",
        ):
            self._closing = True
            self.kill()

    def _result(self, invocation: Invocation, cold_start: bool) -> InvocationResult:
        """The caller's view of a finished invocation: payload, error flag, log and REPORT."""
        if self.returncode is not None:
            self._output.wait_closed(0.2)
        # (the peak memory was sampled by _check_peak_memory just before)
        output = self._output.drain()
        delivered = invocation.delivered_at or invocation.finished_at or time.monotonic()
        finished = invocation.finished_at or time.monotonic()
        duration_ms = (finished - delivered) * 1000
        if invocation.status == "timeout":
            duration_ms = self.spec.timeout_seconds * 1000.0
        init_ms = self.init_duration_ms if cold_start else None
        if cold_start and init_ms is None:  # died or failed during init
            init_ms = ((invocation.finished_at or time.monotonic()) - self._started) * 1000
            duration_ms = 0.0
        report = log_lines.Report(
            request_id=invocation.request_id,
            duration_ms=duration_ms,
            memory_size_mb=self.spec.memory_mb,
            max_memory_used_mb=log_lines.megabytes(self._peak_kb),
            init_duration_ms=init_ms,
            status=invocation.status,
            error_type=invocation.error_type if invocation.status == "error" else None,
        )
        text: list[str] = []
        init_log = self._init_log if cold_start else b""
        self._init_log = b""
        if not self._initialized:  # everything it printed belongs to the (failed) init phase
            init_log, output = init_log + output, b""
        if init_log:
            text.append(_readable(init_log))
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
        peak = self._memory.peak_rss_kb()
        if peak:
            self._peak_kb = max(self._peak_kb, peak)
