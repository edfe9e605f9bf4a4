"""Work a build need not wait for until it ends: writing cache entries it has already used.

One worker thread runs the tasks in the order they were given, so a task may depend on
the ones before it (a scratch folder is removed after the entries made from it). Leaving
the context waits for every task; a task's failure is raised then, unless the build is
already failing for another reason.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any


class Background:
    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[Any]] = []

    def submit(self, task: Callable[..., Any], *args: Any) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="uv-lambda-background")
        self._futures.append(self._pool.submit(task, *args))

    def __enter__(self) -> Background:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._pool is None:
            return
        self._pool.shutdown(wait=True)
        if kind is None:
            for future in self._futures:
                future.result()
