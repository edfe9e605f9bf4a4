"""A local run's environment, started before its build is done.

After an edit, `serve --watch` rebuilds, unpacks the new build and starts its first
environment (pre-warm); `invoke` does the same once. The environment's start-up (bwrap,
the interpreter, the runtime client) does not depend on the edit, so it runs while the
rebuild does:

- before the build, an environment of the build as it is now is started on the tree the
  unpack will update in place: `serve`'s draft (unpack_cache.py: hard links to the current
  tree, made into the next generation), or for a one-shot `invoke` the current tree itself
  (nobody holds it: the unpack takes it as it is). bwrap binds that tree's folders, and
  they stay the same folders when the tree is renamed and updated. The runtime imports its
  client and waits at its gate (sandbox.BOOTSTRAP); nothing of the function is imported yet;
- the unpack waits until the runtime is at its gate (then bwrap has bound the folders)
  before it touches the tree;
- the new function adopts the environment when it runs on those very folders with the
  same settings. The runtime is told which top-level names changed (it starts afresh if
  its client imported one of them) and imports the handler. Otherwise it is stopped, and
  the new function starts its own environment as before.

Its Init Duration counts the start-up before the gate and the init after it, not the wait
at the gate. Only sandboxed runs start early: unsandboxed, the task root's real path is in
the process's environment (LD_LIBRARY_PATH, read once by the dynamic loader) and would
name the old tree.

The interpreter, sandbox and runtime folder looked up for the early start (for `serve`:
when it started) are lent to the new function: they are not looked up twice.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from uv_lambda.emulator.aws_credentials import caller_credentials
from uv_lambda.emulator.environment import ExecutionEnvironment
from uv_lambda.emulator.layout import Layout
from uv_lambda.emulator.spec import FunctionSpec
from uv_lambda.emulator.unpack_cache import draft_of

if TYPE_CHECKING:
    from uv_lambda.emulator.function import HostKey, LocalFunction
    from uv_lambda.emulator.loop import LoopThread

log = logging.getLogger(__name__)

GATE_SECONDS = 5.0  # how long the unpack waits for the runtime to reach its gate


class EarlyStart:
    """`spec`: the function as known before its build (its layout: the tree it runs on now);
    `key`: what chose its interpreter, sandbox and runtime folder (function.host_key);
    `loop_thread`: the event loop its environments run on."""

    def __init__(self, spec: FunctionSpec | None, key: HostKey | None, loop_thread: LoopThread) -> None:
        self.spec = spec
        self.key = key
        self._loop_thread = loop_thread
        self._environment: ExecutionEnvironment | None = None
        self._gate: socket.socket | None = None
        self._draft: Layout | None = None
        self._folders: tuple[os.stat_result, os.stat_result] | None = None  # the draft's task/ and opt/
        self._spawned = 0.0
        self._before_gate: float | None = None
        self._starting: threading.Thread | None = None
        self._runtime_folder_check: Callable[[], bool] | None = None  # see in_background
        self.adopted = False
        self.credentials: dict[str, str] | None = None  # the caller's, when it looked them up
        # Set once the environment was adopted (its gate opened: the function's init runs)
        # or given up: work that can wait for the init (a one-shot run's build record) waits for it.
        self.settled = threading.Event()

    @classmethod
    def replacing(cls, function: LocalFunction) -> EarlyStart:
        """The next environment of `function` (serve --watch), started now on its draft."""
        early = cls(function.spec, function.host_key, function.pool.loop_thread)
        early.start(draft_of(function.spec.layout))
        return early

    @classmethod
    def in_background(
        cls,
        prepare: Callable[[], tuple[FunctionSpec, Layout | None, Callable[[], bool]]],
        key: HostKey,
        loop_thread: LoopThread,
    ) -> EarlyStart:
        """An environment started from a thread on the tree `prepare` names, with the spec it
        makes (its interpreter, sandbox and runtime folder found there) and the caller's
        AWS credentials (a one-shot run: its tree is updated in place, see unpack_cache.py).

        The third thing `prepare` gives checks the runtime folder. It runs after the runtime
        was spawned (which imports only awslambdaric before its gate: nothing of the
        function), in the run's own thread once its build is done (`lends`, `reached_gate`):
        on this thread, its thousands of stat calls would hand the interpreter back and forth
        with the build's own. A folder that fails it gives the environment up, lending
        nothing: the run then installs the folder again and starts its own environment."""
        early = cls(None, key, loop_thread)

        def start() -> None:
            try:
                spec, tree, runtime_folder_intact = prepare()
            except Exception as exc:  # the run finds the same again, and says what is wrong
                log.debug("no early start: %s", exc)
                return
            early.credentials = caller_credentials() if key[2].pass_credentials else {}
            early.spec = dataclasses.replace(spec, credentials=early.credentials)
            early._runtime_folder_check = runtime_folder_intact
            early.start(tree)

        early._starting = threading.Thread(target=start, name="early-start", daemon=True)
        early._starting.start()
        return early

    def start(self, draft: Layout | None) -> None:
        """Start the environment on `draft`, the tree the next generation is made of in place
        (from any thread but the loop's)."""
        known = self.spec
        folders = _folders(draft) if draft is not None and known is not None and known.sandbox.enabled else None
        if draft is None or known is None or folders is None:
            return
        ours, theirs = socket.socketpair()
        spec = dataclasses.replace(known, layout=draft)
        loop = self._loop_thread.loop
        try:
            self._spawned = time.monotonic()
            self._environment = self._loop_thread.call(lambda: ExecutionEnvironment(spec, loop, gate=theirs))
        except Exception as exc:  # the new function starts its own: it says what is wrong
            log.debug("early start failed: %s", exc)
            ours.close()
            return
        finally:
            theirs.close()
        self._gate, self._draft, self._folders = ours, draft, folders

    def reached_gate(self) -> None:
        """Wait until the runtime is at its gate: the draft may be updated from then on
        (call before the unpack). A runtime that does not get there is stopped."""
        self._started()
        if self._gate is None or self._before_gate is not None:
            return
        try:
            self._gate.settimeout(GATE_SECONDS)
            line = b""
            while not line.endswith(b"\n"):
                chunk = self._gate.recv(64)
                if not chunk:
                    raise OSError("the runtime ended before its gate")
                line += chunk
            self._before_gate = max(0.0, float(line) - self._spawned)
            # bwrap bound the draft's folders by their paths, before the runtime got here:
            # the same folders as before the start, unless another run took the draft.
            if self._draft is None or not _same_folders(_folders(self._draft), self._folders):
                raise OSError("the draft was taken while the runtime started")
        except (OSError, ValueError) as exc:
            log.debug("early start abandoned: %s", exc)
            self.cancel()

    def _started(self, *, check: bool = True) -> None:
        """Wait for the thread of `in_background`, if any, then check its runtime folder."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        runtime_folder_intact, self._runtime_folder_check = self._runtime_folder_check, None
        if runtime_folder_intact is None or not check:
            return
        try:
            intact = runtime_folder_intact()
        except OSError:
            intact = False
        if not intact:
            log.debug("early start abandoned: its runtime folder changed since it was installed")
            self.spec = None  # nothing is lent: the run checks (and installs) the folder itself
            self._stop()

    def lends(self, key: HostKey) -> FunctionSpec | None:
        """The spec it was started with, when its interpreter, sandbox and runtime folder are
        the ones a function with these settings would use."""
        self._started()
        known = self.spec
        same = known is not None and self.key is not None and self.key == key
        return known if same else None

    def adopt(self, spec: FunctionSpec) -> ExecutionEnvironment | None:
        """The environment, now `spec`'s, when it fits the new function; else None (stopped).
        On the loop's thread."""
        try:
            return self._adopt(spec)
        finally:
            self.settled.set()

    def _adopt(self, spec: FunctionSpec) -> ExecutionEnvironment | None:
        environment, self._environment = self._environment, None
        gate, self._gate = self._gate, None
        if environment is None or gate is None:
            return None
        with gate:
            names = _top_names(spec.layout.changed)
            misfit = self._misfit(environment, spec, names)
            if misfit is None and names is not None and self._before_gate is not None:
                try:
                    gate.sendall(" ".join(["go", *sorted(names)]).encode() + b"\n")
                    environment.gate_opened(spec, self._before_gate)
                    self.adopted = True
                    return environment
                except OSError as exc:
                    misfit = f"the runtime is gone ({exc})"
            log.debug("the environment started during the rebuild is not used: %s", misfit)
        environment.close()
        return None

    def _misfit(self, environment: ExecutionEnvironment, spec: FunctionSpec, names: set[str] | None) -> str | None:
        """Why the environment cannot be the new function's, or None when it can."""
        if self._before_gate is None or not environment.alive:
            return "it did not reach its gate"
        if names is None:
            return "the new tree was not made from its draft, or a file outside the import paths changed"
        if self._draft is None or dataclasses.replace(spec, layout=self._draft) != environment.spec:
            return "the function's settings changed"
        if not _same_folders(_folders(spec.layout), self._folders):
            return "the new tree is not the draft it runs on"
        return None

    def cancel(self) -> None:
        """Stop the environment, if it was not adopted (from any thread but the loop's)."""
        self.settled.set()
        self._started(check=False)  # stopped anyway
        self._stop()

    def _stop(self) -> None:
        environment, self._environment = self._environment, None
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.close()
        if environment is not None:
            self._loop_thread.call(environment.close)
            environment.wait_closed(5.0)


def _top_names(changed: frozenset[str] | None) -> set[str] | None:
    """The top-level module names the changed names of a tree could be imported as (from the
    task root, /opt/python and the layers' site-packages), or None when something changed
    that is imported otherwise (a shared library in /opt/lib, say)."""
    if changed is None:
        return None
    names: set[str] = set()
    for name in changed:
        parts = name.split("/")
        if parts[0] == "task":
            tops = parts[1:2]
        elif parts[:2] == ["opt", "python"]:
            tops = parts[2:3]
            if parts[2:3] == ["lib"] and parts[4:5] == ["site-packages"]:
                tops += parts[5:6]
        elif name == "opt":
            tops = []
        else:
            return None
        names.update(top.split(".", 1)[0] for top in tops)
    return names


def _folders(layout: Layout) -> tuple[os.stat_result, os.stat_result] | None:
    try:
        return os.stat(layout.task_root), os.stat(layout.opt)
    except OSError:
        return None


def _same_folders(
    first: tuple[os.stat_result, os.stat_result] | None, second: tuple[os.stat_result, os.stat_result] | None
) -> bool:
    if first is None or second is None:
        return False
    return all(os.path.samestat(one, other) for one, other in zip(first, second, strict=True))
