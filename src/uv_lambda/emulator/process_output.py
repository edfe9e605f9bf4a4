"""Collects a runtime process's stdout and stderr, and can say "everything written so far".

The pipe is non-blocking and read on the event loop only when it matters: when an
invocation ends (`drain`: every byte the process wrote before its answer), when it exits
(its last words), and from the environment's periodic tick while it initialises or runs an
invocation, so that a chatty function does not block on a full pipe. It is not watched for
readability: a function that logs line by line would otherwise wake the loop once per line
(the FastAPI example writes six lines per request). The pipe is enlarged so that a tick's
pause absorbs about 1 MB.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import IO

_PIPE_SIZE = 1 << 20
_READ_SIZE = 1 << 16


class OutputCollector:
    def __init__(self, stream: IO[bytes]) -> None:
        # The stream object owns the descriptor: closing it (not the bare fd) means nobody
        # closes the number twice, which would hit whatever reused it.
        self._stream = stream
        self._fd = stream.fileno()
        os.set_blocking(self._fd, False)
        with contextlib.suppress(OSError, AttributeError):  # Linux only; capped by pipe-max-size
            fcntl.fcntl(self._fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        self._buffer = bytearray()
        self.closed = False  # the writer's end is closed (the process exited), or we closed it

    def collect(self) -> None:
        """Read what is in the pipe now into the buffer."""
        while not self.closed:
            try:
                chunk = os.read(self._fd, _READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.close()
                return
            self._buffer += chunk
            if len(chunk) < _READ_SIZE:
                return  # a pipe read returns all it holds: it is empty now

    def drain(self) -> bytes:
        """Everything collected so far, including what is still in the pipe; clears it."""
        self.collect()
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self._stream.close()
