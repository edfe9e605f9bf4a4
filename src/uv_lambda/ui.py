"""Human output: messages on stderr, a spinner on terminals, nothing extra under -q or --json.

Results meant for scripts (JSON, a function's response) go to stdout through `result()`;
everything for people goes to stderr so that stdout stays clean for pipes.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from typing import TextIO


class Reporter:
    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr

    @property
    def interactive(self) -> bool:
        return not self.quiet and self.stream.isatty()

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def warn(self, message: str) -> None:
        # Warnings survive -q: they are what a CI log must show.
        print(f"warning: {message}", file=self.stream, flush=True)

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        """Show `message` with a spinner while the block runs (terminals only)."""
        if not self.interactive:
            yield
            return
        import threading  # only for a terminal's spinner: an app-only rebuild does without it

        done = threading.Event()

        def spin() -> None:
            for frame in itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"):
                self.stream.write(f"\r{frame} {message}")
                self.stream.flush()
                if done.wait(0.1):
                    break
            self.stream.write("\r\033[K")
            self.stream.flush()

        thread = threading.Thread(target=spin, daemon=True)
        started = time.monotonic()
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            self.stream.write(f"✓ {message} ({time.monotonic() - started:.1f} s)\n")
            self.stream.flush()


def result(text: str) -> None:
    """Write the command's result (for scripts) to stdout."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")
