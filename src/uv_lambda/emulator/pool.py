"""Up to N execution environments for one function; each event goes to exactly one of them.

An environment handles one event at a time. Warm environments are reused (most recently
used first, as Lambda tends to); dead ones (timed out, crashed, init failed) are discarded
and replaced on demand. An event that never reached its environment (it died while idle)
is retried on a fresh one, so no event is lost and none is answered twice.
"""

from __future__ import annotations

import logging
import threading

from uv_lambda.emulator import lambda_errors, log_lines
from uv_lambda.emulator.environment import ExecutionEnvironment, InvocationResult
from uv_lambda.emulator.invocation import Invocation
from uv_lambda.emulator.spec import FunctionSpec

log = logging.getLogger(__name__)

# An event whose environment keeps dying before it is received is answered with an error.
_MAX_DELIVERY_ATTEMPTS = 5


class PoolClosed(RuntimeError):
    """The function is shutting down: no new event is accepted."""


class Pool:
    def __init__(self, spec: FunctionSpec, size: int = 1) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one environment")
        self.spec = spec
        self.size = size
        self._lock = threading.Condition()
        self._idle: list[ExecutionEnvironment] = []
        self._count = 0  # environments in existence: idle + busy + starting
        self._closed = False
        self.environments_started = 0
        self.redeliveries = 0  # events re-sent because their environment died before taking them

    def _acquire(self) -> ExecutionEnvironment:
        with self._lock:
            while True:
                if self._closed:
                    raise PoolClosed("the function is shutting down")
                while self._idle:
                    environment = self._idle.pop()
                    if environment.alive:
                        return environment
                    self._count -= 1
                    threading.Thread(target=environment.close, daemon=True).start()
                if self._count < self.size:
                    self._count += 1
                    break
                self._lock.wait()
        try:
            environment = ExecutionEnvironment(self.spec)
        except BaseException:
            with self._lock:
                self._count -= 1
                self._lock.notify()
            raise
        self.environments_started += 1
        return environment

    def _release(self, environment: ExecutionEnvironment) -> None:
        with self._lock:
            if environment.alive and not self._closed:
                self._idle.append(environment)
                self._lock.notify()
                return
            self._count -= 1
            self._lock.notify()
        # Tear it down off the caller's path: the answer should not wait for the cleanup.
        threading.Thread(target=environment.close, daemon=True).start()

    def invoke(self, invocation: Invocation) -> InvocationResult:
        attempt = invocation
        for number in range(_MAX_DELIVERY_ATTEMPTS):
            if number:  # the last attempt was answered "undelivered": the same event, afresh
                self.redeliveries += 1
                attempt = Invocation(
                    invocation.payload,
                    request_id=invocation.request_id,
                    client_context=invocation.client_context,
                    cognito_identity=invocation.cognito_identity,
                    trace_id=invocation.trace_id,
                )
            environment = self._acquire()
            try:
                result = environment.invoke(attempt)
            finally:
                self._release(environment)
            if result is not None:
                return result
            log.debug("event %s did not reach its environment; retrying", invocation.request_id)
        body = lambda_errors.document(
            lambda_errors.UNKNOWN, f"RequestId: {invocation.request_id} Error: no runtime took the event"
        )
        report = log_lines.Report(invocation.request_id, 0.0, self.spec.memory_mb, 0, status="error")
        return InvocationResult(
            invocation.request_id, body, True, lambda_errors.UNKNOWN, report.line() + "\n", report, False
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._lock.notify_all()
        for environment in idle:
            environment.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
