"""Memory figures of an execution environment, read from /proc (Linux).

Lambda counts every process of the environment against its memory size. The runtime
process is read through a status file kept open (this runs after every invocation, and
opening /proc files is the expensive part); its descendants (emulator/process_tree.py) only
when it has any.
"""

from __future__ import annotations

import contextlib
import os

from uv_lambda.emulator.process_tree import descendants, read


def _kilobytes(status: bytes, field: bytes) -> int | None:
    start = status.find(b"\n" + field + b":")
    if start < 0:
        return None
    end = status.find(b"kB", start)
    try:
        return int(status[start + len(field) + 2 : end])
    except ValueError:
        return None


class ProcessMemory:
    """One process's status file, kept open."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
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

    def peak_rss_kb(self) -> int | None:
        """The peak resident set (VmHWM)."""
        return _kilobytes(self._status(), b"VmHWM")

    def rss_kb(self) -> int | None:
        return _kilobytes(self._status(), b"VmRSS")

    def sample(self) -> tuple[int | None, int | None]:
        """(current, peak) resident set in kB, from one read."""
        status = self._status()
        return _kilobytes(status, b"VmRSS"), _kilobytes(status, b"VmHWM")

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class EnvironmentMemory:
    """The memory of the runtime process and every process below it, summed."""

    def __init__(self, runtime_pid: int, root_pid: int | None = None) -> None:
        """`root_pid`: the process whose descendants are counted (in a sandbox, its init
        process, which adopts orphans); by default the runtime process."""
        self.runtime = ProcessMemory(runtime_pid)
        self._root = root_pid or runtime_pid
        self.others: list[int] = []  # the other processes at the last sample

    def sample(self) -> tuple[int | None, int | None]:
        """(current, peak) in kB: the peak is the runtime's own (VmHWM) when it is alone,
        else the larger of that and the current sum (a child's peak between two samples
        is not seen)."""
        current, peak = self.runtime.sample()
        if current is None:
            return None, peak
        others = [pid for pid in descendants(self._root) if pid != self.runtime.pid]
        self.others = others
        if not others:
            return current, peak
        total = current + sum(_kilobytes(read(f"/proc/{pid}/status"), b"VmRSS") or 0 for pid in others)
        return total, max(peak or 0, total)

    def close(self) -> None:
        self.runtime.close()
