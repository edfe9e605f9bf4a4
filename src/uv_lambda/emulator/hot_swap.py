"""A function that can be replaced while it serves: `serve --watch` swaps in each rebuild.

Requests in flight finish on the function they started on; the old function is closed
(its environments stopped, its unpacked files removed) only once its last request is done.
Events are submitted on the event loop's thread; `swap` comes from the source watcher's.
"""

from __future__ import annotations

import threading

from uv_lambda.emulator.environment import InvocationResult
from uv_lambda.emulator.function import LocalFunction
from uv_lambda.emulator.pool import ResultCallback


class SwappableFunction:
    def __init__(self, function: LocalFunction) -> None:
        self._lock = threading.Lock()
        self._current = function
        self._users: dict[int, int] = {id(function): 0}
        self._retired: dict[int, LocalFunction] = {}

    @property
    def current(self) -> LocalFunction:
        return self._current

    def submit(
        self, payload: bytes, on_done: ResultCallback, *, client_context: str | None = None, checked: bool = False
    ) -> None:
        """Start one event on the current function (on the event loop's thread)."""
        with self._lock:
            function = self._current
            self._users[id(function)] += 1

        def done(outcome: InvocationResult | BaseException) -> None:
            self._done_with(function)
            on_done(outcome)

        try:
            function.submit(payload, done, client_context=client_context, checked=checked)
        except BaseException:
            self._done_with(function)
            raise

    def _done_with(self, function: LocalFunction) -> None:
        with self._lock:
            self._users[id(function)] -= 1
            idle = self._users[id(function)] == 0 and id(function) in self._retired
            if idle:
                del self._retired[id(function)]
                del self._users[id(function)]
        if idle:
            # Closing removes its files and waits for its processes: not on the event loop.
            threading.Thread(target=function.close, name="retire-function", daemon=True).start()

    def swap(self, replacement: LocalFunction) -> None:
        with self._lock:
            old, self._current = self._current, replacement
            self._users[id(replacement)] = 0
            idle = self._users[id(old)] == 0
            if idle:
                del self._users[id(old)]
            else:
                self._retired[id(old)] = old
        if idle:
            old.close()

    def close(self) -> None:
        with self._lock:
            functions = [self._current, *self._retired.values()]
            self._retired.clear()
        for function in functions:
            function.close()
