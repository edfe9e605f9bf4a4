"""One event on its way through an execution environment, answered exactly once.

Only the event loop's thread touches an invocation, so it needs no lock.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

from uv_lambda.emulator import ids


class Outcome(enum.Enum):
    SUCCESS = "success"
    FUNCTION_ERROR = "function-error"  # the handler raised, or the runtime failed (timeout, exit)
    UNDELIVERED = "undelivered"  # the environment died before it received the event: retry it


@dataclass(slots=True)
class Invocation:
    payload: bytes
    request_id: str = field(default_factory=ids.request_id)
    client_context: str | None = None  # JSON text, as the Runtime API header carries it
    cognito_identity: str | None = None
    trace_id: str = field(default_factory=ids.trace_id)
    # Filled in as the invocation progresses.
    delivered_at: float | None = None  # time.monotonic() when the runtime received the event
    deadline_ms: int = 0  # epoch milliseconds, sent in Lambda-Runtime-Deadline-Ms
    finished_at: float | None = None
    outcome: Outcome | None = None
    body: bytes = b""
    error_type: str | None = None
    status: str | None = None  # REPORT's Status: "timeout" or "error" for runtime failures

    def mark_delivered(self, timeout_seconds: float) -> bool:
        """Record that the runtime is about to receive the event; False if already answered."""
        if self.outcome is not None:
            return False
        self.delivered_at = time.monotonic()
        self.deadline_ms = int(time.time() * 1000 + timeout_seconds * 1000)
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
        if self.outcome is not None:
            return False
        self.outcome = outcome
        self.body = body
        self.error_type = error_type
        self.status = status
        self.finished_at = time.monotonic()
        return True

    def replace_answer(
        self, outcome: Outcome, body: bytes, *, error_type: str | None = None, status: str | None = None
    ) -> None:
        """Overrule the answer (the caller has not seen it yet): the runtime broke a limit."""
        self.outcome, self.body, self.error_type, self.status = outcome, body, error_type, status

    def retry(self) -> Invocation:
        """The same event afresh, for another environment (this one never received it)."""
        return Invocation(
            self.payload,
            request_id=self.request_id,
            client_context=self.client_context,
            cognito_identity=self.cognito_identity,
            trace_id=self.trace_id,
        )

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    @property
    def delivered(self) -> bool:
        return self.delivered_at is not None
