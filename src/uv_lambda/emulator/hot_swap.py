"""A function that can be replaced while it serves: `serve --watch` swaps in each rebuild.

Requests in flight finish on the function they started on; the old function is closed
(its environments stopped, its unpacked files removed) only once its last request is done.
"""

from __future__ import annotations

import threading

from uv_lambda.emulator.environment import InvocationResult
from uv_lambda.emulator.function import LocalFunction


class SwappableFunction:
    def __init__(self, function: LocalFunction) -> None:
        self._lock = threading.Lock()
        self._current = function
        self._users: dict[int, int] = {id(function): 0}
        self._retired: dict[int, LocalFunction] = {}

    @property
    def current(self) -> LocalFunction:
        return self._current

    def invoke(self, payload: bytes, client_context: str | None = None, checked: bool = False) -> InvocationResult:
        with self._lock:
            function = self._current
            self._users[id(function)] += 1
        try:
            return function.invoke(payload, client_context=client_context, checked=checked)
        finally:
            self._done_with(function)

    def _done_with(self, function: LocalFunction) -> None:
        with self._lock:
            self._users[id(function)] -= 1
            idle = self._users[id(function)] == 0 and id(function) in self._retired
            if idle:
                del self._retired[id(function)]
                del self._users[id(function)]
        if idle:
            function.close()

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
