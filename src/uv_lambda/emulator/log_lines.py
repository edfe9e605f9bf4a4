"""The START, END and REPORT lines Lambda writes around every invocation (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def init_start_line(python_version: str, region: str) -> str:
    """Lambda's first line of a cold start; the runtime version here is this machine's."""
    return (
        f"INIT_START Runtime Version: python:{python_version}.local\t"
        f"Runtime Version ARN: arn:aws:lambda:{region}::runtime:local"
    )


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def megabytes(kilobytes: int) -> int:
    """Lambda reports memory in whole MB (MiB), rounded up."""
    return math.ceil(kilobytes / 1024)


@dataclass(frozen=True)
class Report:
    request_id: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None  # only on a cold start
    status: str | None = None  # "timeout" or "error" when the invocation failed in the runtime
    error_type: str | None = None

    @property
    def billed_duration_ms(self) -> int:
        # Since August 2025 Lambda bills the init phase of on-demand managed-runtime functions.
        return math.ceil(self.duration_ms + (self.init_duration_ms or 0.0))

    def line(self) -> str:
        fields = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_duration_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_used_mb} MB",
        ]
        if self.init_duration_ms is not None:
            fields.append(f"Init Duration: {self.init_duration_ms:.2f} ms")
        if self.status:
            fields.append(f"Status: {self.status}")
        if self.error_type:
            fields.append(f"Error Type: {self.error_type}")
        # Every REPORT line Lambda writes ends with a tab.
        return "\t".join(fields) + "\t"
