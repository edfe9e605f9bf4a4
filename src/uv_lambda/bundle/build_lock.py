"""One build at a time per output folder: a second build of the same folder waits, and says so.

The lock is an advisory `flock` on a file in the cache (`locks/<hash of the folder>.lock`),
not in the output folder, so that it leaves nothing beside the artifacts. The kernel
releases it when its holder exits, however it exits: a killed build never blocks the next.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from uv_lambda.cache import cache_root
from uv_lambda.ui import Reporter


def lock_path(out_dir: Path) -> Path:
    return cache_root() / "locks" / (hashlib.sha256(str(out_dir).encode()).hexdigest()[:32] + ".lock")


@contextmanager
def holding(out_dir: Path, reporter: Reporter) -> Iterator[None]:
    """Hold the lock of `out_dir` for the duration; wait (saying so) while another build has it."""
    path = lock_path(out_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield  # a cache that cannot be written: build without the lock, as before
        return
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            reporter.info(f"waiting for another uv-lambda build writing {out_dir} to finish")
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock
