"""Work a build need not wait for until it ends: writing cache entries it has already used.

One worker thread runs the tasks in the order they were given, so a task may depend on
the ones before it (a scratch folder is removed after the entries made from it). Leaving
the context waits for every task, even when Ctrl-C interrupts the wait (the tasks are
short, and a build that stops must not leave one half done: it removes the scratch the
task writes in); a task's failure is raised then, unless the build is already failing.
"""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # concurrent.futures only when a task is given: most builds give none
    from collections.abc import Callable
    from concurrent.futures import Future, ThreadPoolExecutor
    from types import TracebackType


class Background:
    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[Any]] = []

    def submit(self, task: Callable[..., Any], *args: Any) -> None:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="uv-lambda-background")
        self._futures.append(self._pool.submit(task, *args))

    def __enter__(self) -> Background:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._pool is None:
            return
        from concurrent.futures import wait

        interrupted: BaseException | None = None
        while True:
            # The futures, not Thread.join: a join that Ctrl-C interrupts marks the thread as
            # finished on CPython 3.11 (bpo-45274's fix), and a second join returns at once.
            try:
                wait(self._futures)
                break
            except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (cli/__init__.py): wait, then stop
                interrupted = exc
        self._pool.shutdown(wait=interrupted is None)
        if interrupted is not None:
            raise interrupted
        if kind is None:
            for future in self._futures:
                future.result()


def start_removal(folder: str | os.PathLike[str]) -> Callable[[], None]:
    """Start removing `folder` in an `rm -rf` process; what finishes the removal (waits for
    that process, then removes whatever is left, all of it where `rm` cannot be found).

    An installed tree is hundreds of files: shutil.rmtree unlinks them one by one in Python,
    on a thread that takes the interpreter lock from the build's own writes at every step
    (15 ms alone, 35 ms beside them, on 2 cores); `rm` needs no lock and runs on its own.
    """
    import shutil

    from uv_lambda import proc

    rm = shutil.which("rm")
    process = None
    if rm is not None:
        try:
            process = proc.spawn([rm, "-rf", "--", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            process = None

    def finish() -> None:
        if process is not None:
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)

    return finish
