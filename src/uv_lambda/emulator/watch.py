"""Notice source changes in a project: a cheap snapshot of file names, sizes and mtimes."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

# Folders that never hold sources of the function (or that the build itself writes).
IGNORED_DIRS = frozenset(
    {"dist", ".venv", "venv", ".git", "__pycache__", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
)

Snapshot = dict[str, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """(mtime_ns, size) of every file under root, outside IGNORED_DIRS."""
    found: Snapshot = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in IGNORED_DIRS and not d.startswith(".")]
        for name in files:
            path = os.path.join(folder, name)
            try:
                info = os.stat(path)
            except OSError:
                continue
            found[path] = (info.st_mtime_ns, info.st_size)
    return found


class Watcher:
    """Calls `on_change` (from its own thread) after files under `root` changed and settled,
    and `on_notice` as soon as a change is seen, before it settles.

    It polls: as often as a tenth of its time allows (a snapshot of a small project takes
    well under a millisecond, so a change is seen within `fastest` seconds), never more rarely
    than `slowest`.
    """

    def __init__(
        self,
        root: Path,
        on_change: Callable[[], None],
        *,
        on_notice: Callable[[], None] | None = None,
        fastest: float = 0.02,
        slowest: float = 0.5,
    ) -> None:
        self.root = root
        self._on_change = on_change
        self._on_notice = on_notice
        self._fastest = fastest
        self._slowest = slowest
        self._interval = fastest
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="source-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _snapshot(self) -> Snapshot:
        started = time.monotonic()
        found = snapshot(self.root)
        self._interval = min(self._slowest, max(self._fastest, 10 * (time.monotonic() - started)))
        return found

    def _run(self) -> None:
        last = self._snapshot()
        while not self._stop.wait(self._interval):
            current = self._snapshot()
            if current == last:
                continue
            if self._on_notice is not None:
                self._on_notice()
            # Wait for an editor's burst of writes to settle before rebuilding.
            while not self._stop.wait(self._interval / 2):
                settled = self._snapshot()
                if settled == current:
                    break
                current = settled
            last = current  # an edit made while rebuilding is seen by the next poll
            self._on_change()
