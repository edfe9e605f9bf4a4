"""Up to N execution environments for one function; each event goes to exactly one of them.

An environment handles one event at a time. Warm environments are reused (most recently
used first, as Lambda tends to); dead ones (timed out, crashed, init failed) are discarded
and replaced on demand; events wait in order while all N are busy. An event that never
reached its environment (it died while idle) is retried on a fresh one, so no event is
lost and none is answered twice.

The pool lives on the event loop (`submit` is called there); `invoke` and `close` are for
other threads.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from uv_lambda.emulator import lambda_errors, log_lines
from uv_lambda.emulator import loop as event_loop
from uv_lambda.emulator.environment import TICK_SECONDS, ExecutionEnvironment, InvocationResult
from uv_lambda.emulator.invocation import Invocation
from uv_lambda.emulator.spec import FunctionSpec

log = logging.getLogger(__name__)

# An event whose environment keeps dying before it is received is answered with an error.
_MAX_DELIVERY_ATTEMPTS = 5
# How long `close` waits for each runtime process to be reaped after SIGKILL.
_CLOSE_WAIT_SECONDS = 5.0

# Called once per submitted event: its result, or the exception that stopped it (PoolClosed,
# a runtime that cannot be started).
ResultCallback = Callable[[InvocationResult | BaseException], None]
# Gives an environment started elsewhere for the pool to take, or None (see early_start.py).
Adopt = Callable[[], ExecutionEnvironment | None]


class PoolClosed(RuntimeError):
    """The function is shutting down: no new event is accepted."""


@dataclass
class _Job:
    invocation: Invocation
    on_done: ResultCallback
    attempt: int = 0


class Pool:
    def __init__(self, spec: FunctionSpec, size: int = 1, loop_thread: event_loop.LoopThread | None = None) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one environment")
        self.spec = spec
        self.size = size
        self.loop_thread = loop_thread or event_loop.shared()
        self._idle: list[ExecutionEnvironment] = []
        self._waiting: collections.deque[_Job] = collections.deque()
        self._environments: set[ExecutionEnvironment] = set()  # idle + busy + starting
        self._closed = False
        self._ticker: asyncio.TimerHandle | None = None  # runs while an event is in flight
        self.environments_started = 0
        self.redeliveries = 0  # events re-sent because their environment died before taking them

    # --- on the loop ---------------------------------------------------------------------

    def submit(self, invocation: Invocation, on_done: ResultCallback) -> None:
        """Run one event (call on the loop's thread); `on_done` gets its result."""
        if self._closed:
            raise PoolClosed("the function is shutting down")
        self._dispatch(_Job(invocation, on_done))

    def _dispatch(self, job: _Job) -> None:
        environment = self._take_idle()
        if environment is None:
            if len(self._environments) >= self.size:
                self._waiting.append(job)  # the next environment released takes it
                return
            try:
                environment = ExecutionEnvironment(self.spec, self.loop_thread.loop)
            except Exception as exc:
                job.on_done(exc)
                return
            self._environments.add(environment)
            self.environments_started += 1
        self._run(job, environment)

    def _take_idle(self) -> ExecutionEnvironment | None:
        while self._idle:
            environment = self._idle.pop()
            if environment.alive:
                return environment
            self._discard(environment)
        return None

    def _run(self, job: _Job, environment: ExecutionEnvironment) -> None:
        environment.invoke(job.invocation, lambda result: self._finished(job, environment, result))
        if self._ticker is None:
            self._ticker = self.loop_thread.loop.call_later(TICK_SECONDS, self._tick)

    def _tick(self) -> None:
        """Deadlines, memory and output of the events in flight (see ExecutionEnvironment.tick)."""
        self._ticker = None
        now = time.monotonic()
        for environment in list(self._environments):
            environment.tick(now)
        if not self._closed and any(environment.busy for environment in self._environments):
            self._ticker = self.loop_thread.loop.call_later(TICK_SECONDS, self._tick)

    def _discard(self, environment: ExecutionEnvironment) -> None:
        self._environments.discard(environment)
        environment.close()

    def _finished(self, job: _Job, environment: ExecutionEnvironment, result: InvocationResult | None) -> None:
        self._release(environment)
        if result is not None:
            job.on_done(result)
            return
        log.debug("event %s did not reach its environment; retrying", job.invocation.request_id)
        job.attempt += 1
        if self._closed:
            job.on_done(PoolClosed("the function is shutting down"))
        elif job.attempt < _MAX_DELIVERY_ATTEMPTS:
            self.redeliveries += 1
            job.invocation = job.invocation.retry()  # the same event, afresh
            self._dispatch(job)
        else:
            job.on_done(self._undeliverable(job.invocation))

    def _release(self, environment: ExecutionEnvironment) -> None:
        if environment.alive and not self._closed:
            if self._waiting:
                self._run(self._waiting.popleft(), environment)
            else:
                self._idle.append(environment)
            return
        self._discard(environment)
        if self._waiting and not self._closed:
            self._dispatch(self._waiting.popleft())  # on a fresh environment, in its place

    def _undeliverable(self, invocation: Invocation) -> InvocationResult:
        body = lambda_errors.document(
            lambda_errors.UNKNOWN, f"RequestId: {invocation.request_id} Error: no runtime took the event"
        )
        report = log_lines.Report(invocation.request_id, 0.0, self.spec.memory_mb, 0, status="error")
        return InvocationResult(
            invocation.request_id, body, True, lambda_errors.UNKNOWN, report.line() + "\n", report, False
        )

    def _close(self) -> list[ExecutionEnvironment]:
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        waiting, self._waiting = list(self._waiting), collections.deque()
        for job in waiting:
            job.on_done(PoolClosed("the function is shutting down"))
        environments = list(self._environments)
        self._environments.clear()
        self._idle.clear()
        for environment in environments:
            environment.close()  # an event in flight is answered when its runtime's end is seen
        return environments

    def _prewarm(self, on_ready: Callable[[], None], adopt: Adopt | None) -> None:
        """Start one environment before any event needs it (its init runs now), or take the
        one `adopt` gives; `on_ready` is called when the init is over, or at once when there
        is nothing to start."""
        adopted = adopt() if adopt is not None else None
        if self._closed or self._environments:
            if adopted is not None:
                adopted.close()
            on_ready()
            return
        environment = adopted or ExecutionEnvironment(self.spec, self.loop_thread.loop)
        environment.on_ready = on_ready
        self._environments.add(environment)
        self.environments_started += 1
        self._idle.append(environment)  # the first event takes it, ready or still in its init

    # --- from other threads --------------------------------------------------------------

    def prewarm(self, adopt: Adopt | None = None) -> concurrent.futures.Future[None]:
        """Start one environment's init now (from any thread but the loop's), or take the
        one `adopt` returns (called on the loop; None: start one); the future is done when
        the init is over (or failed: the first event then sees the error)."""
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()

        def done() -> None:
            if not ready.done():
                ready.set_result(None)

        def start() -> None:
            try:
                self._prewarm(done, adopt)
            except BaseException as exc:  # the runtime cannot start: the first event says why
                log.debug("pre-warming failed: %s", exc)
                done()

        self.loop_thread.loop.call_soon_threadsafe(start)
        return ready

    def invoke(self, invocation: Invocation) -> InvocationResult:
        """Run one event and wait for its result (from any thread but the loop's)."""
        if self.loop_thread.in_loop():
            raise RuntimeError("Pool.invoke would block the event loop: use submit")
        future: concurrent.futures.Future[InvocationResult] = concurrent.futures.Future()

        def done(outcome: InvocationResult | BaseException) -> None:
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

        def start() -> None:
            try:
                self.submit(invocation, done)
            except BaseException as exc:
                future.set_exception(exc)

        self.loop_thread.loop.call_soon_threadsafe(start)
        return future.result()

    def runtime_pids(self) -> list[int]:
        """The pids (on this machine) of the environments' runtime processes."""
        environments = self.loop_thread.call(lambda: list(self._environments))
        return [pid for pid in (environment.runtime_pid for environment in environments) if pid is not None]

    def close(self) -> None:
        """Stop every environment; from another thread, wait until their processes are gone."""
        environments = self.loop_thread.call(self._close)
        if not self.loop_thread.in_loop():
            for environment in environments:
                environment.wait_closed(_CLOSE_WAIT_SECONDS)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
