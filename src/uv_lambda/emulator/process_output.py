"""Collects a runtime process's stdout and stderr, and can say "everything written so far".

A background thread drains the pipe (so a chatty function never blocks on a full pipe);
`drain()` reads whatever is still in the pipe under the same lock, so after it returns every
byte the process wrote before the call has been collected. The thread batches: after each
read it pauses briefly, so a function that logs line by line does not wake it (and take the
GIL from the server's threads) once per line; the pipe is enlarged to absorb the pause.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import threading
import time
from typing import IO

# Pause after each read: at most ~1 MB (the enlarged pipe) arrives per pause without blocking.
_BATCH_SECONDS = 0.005
_PIPE_SIZE = 1 << 20


class OutputCollector:
    def __init__(self, stream: IO[bytes]) -> None:
        # The stream object owns the descriptor: closing it (not the bare fd) means nobody
        # closes the number twice, which would hit whatever reused it.
        self._stream = stream
        self._fd = stream.fileno()
        os.set_blocking(self._fd, False)
        with contextlib.suppress(OSError, AttributeError):  # Linux only; capped by pipe-max-size
            fcntl.fcntl(self._fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._eof = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"output-{self._fd}", daemon=True)
        self._thread.start()

    def _read_available(self) -> None:
        """Read until the pipe is empty; call with the lock held."""
        while not self._eof.is_set():
            try:
                chunk = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._eof.set()
                return
            self._buffer += chunk

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while not self._eof.is_set():
            poller.poll()
            with self._lock:
                self._read_available()
            time.sleep(_BATCH_SECONDS)
        with self._lock:
            self._stream.close()

    def drain(self) -> bytes:
        """Everything collected so far, including what is still in the pipe; clears it."""
        with self._lock:
            self._read_available()
            data = bytes(self._buffer)
            self._buffer.clear()
            return data

    def wait_closed(self, timeout: float) -> bool:
        """Wait for the writer's end to close (the process exited); True if it did."""
        return self._eof.wait(timeout)
