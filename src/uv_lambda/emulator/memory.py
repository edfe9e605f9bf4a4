"""Memory figures of a running process, read from /proc/<pid>/status (Linux)."""

from __future__ import annotations

import contextlib
import os


class ProcessMemory:
    """Reads one process's status file; the file stays open, since this runs after every
    invocation (REPORT's Max Memory Used) and opening /proc files is the expensive part."""

    def __init__(self, pid: int) -> None:
        try:
            self._fd: int | None = os.open(f"/proc/{pid}/status", os.O_RDONLY)
        except OSError:
            self._fd = None

    def _status(self) -> bytes:
        if self._fd is None:
            return b""
        try:
            return os.pread(self._fd, 16384, 0)  # the kernel regenerates the text at offset 0
        except OSError:  # the process is gone
            return b""

    @staticmethod
    def _kilobytes(status: bytes, field: bytes) -> int | None:
        start = status.find(b"\n" + field + b":")
        if start < 0:
            return None
        end = status.find(b"kB", start)
        try:
            return int(status[start + len(field) + 2 : end])
        except ValueError:
            return None

    def peak_rss_kb(self) -> int | None:
        """The peak resident set (VmHWM): what Lambda reports as Max Memory Used."""
        return self._kilobytes(self._status(), b"VmHWM")

    def rss_kb(self) -> int | None:
        return self._kilobytes(self._status(), b"VmRSS")

    def sample(self) -> tuple[int | None, int | None]:
        """(current, peak) resident set in kB, from one read."""
        status = self._status()
        return self._kilobytes(status, b"VmRSS"), self._kilobytes(status, b"VmHWM")

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
