"""The one event loop that runs all of the runner's I/O: Runtime APIs, runtime output, `serve`.

Every connection, pipe and timer of the process is served by this loop on its own thread,
so a warm invocation never waits for another thread to wake up or for the GIL to be handed
over (with a thread per connection, those hand-offs cost more CPU than the request itself).
Callers on other threads (`uv-lambda invoke`, the source watcher, tests) hand work over with
`call` and `run`; code on the loop thread must never block.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="uv-lambda-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def in_loop(self) -> bool:
        return threading.get_ident() == self._thread.ident

    def call(self, function: Callable[[], T]) -> T:
        """Run `function` on the loop thread and return its result (or raise its exception)."""
        if self.in_loop():
            return function()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(function())
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop and wait for its result (from another thread)."""
        if self.in_loop():
            coroutine.close()
            raise RuntimeError("cannot wait for a coroutine on the event loop's own thread")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()


_lock = threading.Lock()
_shared: LoopThread | None = None


def shared() -> LoopThread:
    """The process's loop thread, started on first use (it lives as long as the process)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = LoopThread()
        return _shared
