"""One event on its way through an execution environment, answered exactly once."""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass, field

from uv_lambda.emulator import ids


class Outcome(enum.Enum):
    SUCCESS = "success"
    FUNCTION_ERROR = "function-error"  # the handler raised, or the runtime failed (timeout, exit)
    UNDELIVERED = "undelivered"  # the environment died before it received the event: retry it


@dataclass
class Invocation:
    payload: bytes
    request_id: str = field(default_factory=ids.request_id)
    client_context: str | None = None  # JSON text, as the Runtime API header carries it
    cognito_identity: str | None = None
    trace_id: str = field(default_factory=ids.trace_id)
    # Filled in as the invocation progresses; guarded by _lock.
    delivered_at: float | None = None  # time.monotonic() when the runtime received the event
    deadline_ms: int = 0  # epoch milliseconds, sent in Lambda-Runtime-Deadline-Ms
    finished_at: float | None = None
    outcome: Outcome | None = None
    body: bytes = b""
    error_type: str | None = None
    status: str | None = None  # REPORT's Status: "timeout" or "error" for runtime failures
    _lock: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def mark_delivered(self, timeout_seconds: float) -> bool:
        """Record that the runtime is about to receive the event; False if already answered."""
        with self._lock:
            if self.outcome is not None:
                return False
            self.delivered_at = time.monotonic()
            self.deadline_ms = int(time.time() * 1000 + timeout_seconds * 1000)
            self._lock.notify_all()
            return True

    def finish(
        self,
        outcome: Outcome,
        body: bytes = b"",
        *,
        error_type: str | None = None,
        status: str | None = None,
    ) -> bool:
        """Answer the invocation; only the first answer counts (False for any later one)."""
        with self._lock:
            if self.outcome is not None:
                return False
            self.outcome = outcome
            self.body = body
            self.error_type = error_type
            self.status = status
            self.finished_at = time.monotonic()
            self._lock.notify_all()
            return True

    def replace_answer(
        self, outcome: Outcome, body: bytes, *, error_type: str | None = None, status: str | None = None
    ) -> None:
        """Overrule the answer (the caller has not seen it yet): the runtime broke a limit."""
        with self._lock:
            self.outcome, self.body, self.error_type, self.status = outcome, body, error_type, status

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    @property
    def delivered(self) -> bool:
        return self.delivered_at is not None

    def wait(self, until: float, *, for_delivery: bool = False) -> bool:
        """Wait until answered (or delivered) or until the monotonic time `until`."""
        with self._lock:
            while not (self.finished or (for_delivery and self.delivered)):
                remaining = until - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True
