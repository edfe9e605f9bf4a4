"""The serve use case: the function behind a local HTTP endpoint and the Invoke API, until
Ctrl-C or SIGTERM, and with --watch a rebuild and a swap after each change of the sources.

The server, the environments and their Runtime APIs run on the event loop's thread
(emulator/http_server.py); the watcher polls on its own (emulator/watch.py); a rebuild opens
the function again through `open_local` and swaps it in (emulator/hot_swap.py). What the
command line prints is its own: the callbacks say when the server listens and what each
invocation logged; progress goes to the Reporter.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from uv_lambda.app.local import LocalRequest, SelectFunction
from uv_lambda.ui import Reporter

if TYPE_CHECKING:
    from uv_lambda.emulator.early_start import EarlyStart
    from uv_lambda.emulator.environment import InvocationResult
    from uv_lambda.emulator.function import LocalFunction, RunOptions
    from uv_lambda.emulator.hot_swap import SwappableFunction
    from uv_lambda.emulator.pool import ResultCallback
    from uv_lambda.emulator.watch import Watcher


@dataclass(frozen=True)
class ServeRequest:
    """What `serve` runs (the local run's request and options) and how it serves it."""

    local: LocalRequest
    options: RunOptions
    port: int = 8000  # on 127.0.0.1; 0 picks a free one
    event_format: str = "apigw-v2"  # the event HTTP requests become (emulator/event_types.py)
    alb_multi_value: bool = False
    watch: bool = False  # rebuild and swap when the sources of the project at `path` change
    path: Path | None = None  # the project folder (None: the current folder)


@dataclass(frozen=True)
class ServeEvents:
    """What the command line shows: `started(function, url)` once the server listens (the
    port is known then), `result` after each invocation (its log)."""

    started: Callable[[LocalFunction, str], None]
    result: Callable[[InvocationResult], None]


def serve(request: ServeRequest, reporter: Reporter, events: ServeEvents, select: SelectFunction) -> None:
    """Serve the function `request` names until Ctrl-C or SIGTERM; `select` gives the project's
    function when that is what runs. Everything started is stopped before it returns."""
    from uv_lambda.app.local import open_local
    from uv_lambda.emulator.hot_swap import SwappableFunction
    from uv_lambda.emulator.http_server import LambdaHttpServer, ServerOptions

    def open_function(early: EarlyStart | None = None) -> LocalFunction:
        return open_local(request.local, request.options, reporter, select, early)

    function = SwappableFunction(open_function())
    name = function.current.spec.name
    # Without --watch nothing is ever swapped: events skip the swap's bookkeeping.
    runner: SwappableFunction | LocalFunction = function if request.watch else function.current

    def submit(payload: bytes, client_context: str | None, on_done: ResultCallback) -> None:
        # Both callers (the Invoke API and the gateway) hand over JSON they checked or made.
        runner.submit(payload, on_done, client_context=client_context, checked=True)

    try:
        server = LambdaHttpServer(
            request.port,
            name,
            submit,
            options=ServerOptions(event_format=request.event_format, alb_multi_value=request.alb_multi_value),
            report=events.result,
        )
    except BaseException:
        function.close()
        raise

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the server as Ctrl-C does: environments cleaned up

    signal.signal(signal.SIGTERM, stop)
    watcher: Watcher | None = None
    try:
        # The server, the environments and their Runtime APIs all run on the event loop's
        # thread; this one only waits for Ctrl-C or SIGTERM.
        server.start()
        events.started(function.current, f"http://127.0.0.1:{server.port}")
        if request.watch:
            watcher = _start_watching(request.path, reporter, function, open_function)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        reporter.info("stopping")
    finally:
        if watcher is not None:
            watcher.stop()
        server.close()
        function.close()


def _start_watching(
    path: Path | None,
    reporter: Reporter,
    function: SwappableFunction,
    open_function: Callable[[EarlyStart | None], LocalFunction],
) -> Watcher:
    """Watch the sources of the project at `path`; after each change, rebuild, pre-warm the new
    build and swap it in (a failed rebuild keeps the last good build serving)."""
    from uv_lambda.emulator.early_start import EarlyStart
    from uv_lambda.emulator.watch import Watcher
    from uv_lambda.errors import UvLambdaError
    from uv_lambda.project import load_project

    project = load_project(path)
    noticed: list[EarlyStart] = []

    def notice() -> None:
        # The next environment starts as soon as a change is seen, while the edit settles
        # and the rebuild runs, and waits for its tree before it imports the handler
        # (emulator/early_start.py).
        noticed.append(EarlyStart.replacing(function.current))

    def rebuild() -> None:
        reporter.info("sources changed: rebuilding")
        started = time.monotonic()
        early = noticed.pop() if noticed else EarlyStart.replacing(function.current)
        for stale in noticed:
            stale.cancel()
        noticed.clear()
        try:
            replacement = open_function(early)
        except UvLambdaError as exc:  # keep serving the last good build
            early.cancel()
            reporter.warn(f"rebuild failed, still serving the previous build: {exc.message}")
            return
        except BaseException:
            early.cancel()
            raise
        rebuilt = time.monotonic()
        # Pre-warm: the new environment's init starts now (or goes on, started early), so the
        # first request after the edit does not pay for it; requests arriving before it is
        # over wait for it.
        ready = replacement.prewarm(early)
        function.swap(replacement)
        reporter.info(f"serving the new build (rebuilt in {rebuilt - started:.2f} s; its init is starting)")

        def report_ready(_: object) -> None:
            how = ", started during the rebuild" if early.adopted else ""
            reporter.info(f"the new build is warm ({time.monotonic() - rebuilt:.2f} s of init{how})")

        ready.add_done_callback(report_ready)

    watcher = Watcher(project.workspace_root, rebuild, on_notice=notice)
    watcher.start()
    return watcher
