"""Nothing a function starts outlives its execution environment.

The runtime process runs in a process group of its own, so a kill of the group stops the
children it starts. A child that leaves the group (`setsid`, a double fork: a daemon) is
not in it. So the runtime process is made a *child subreaper* (PR_SET_CHILD_SUBREAPER, set
between fork and exec; it survives exec): an orphan below it is re-parented to it, not to
init, and stays in its tree. Stopping an environment kills that whole tree, leaves first
and in rounds (a process forking meanwhile is caught by the next round), before the
runtime process itself. PR_SET_PDEATHSIG makes the runtime process die with uv-lambda even
when uv-lambda is killed outright.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable

from uv_lambda import proc
from uv_lambda.emulator.process_tree import descendants

_PR_SET_CHILD_SUBREAPER = 36
_ROUNDS = 20  # a tree that keeps forking faster than it is killed is given up on (logged)


def preexec() -> Callable[[], None] | None:
    """What the runtime process runs before exec: become a subreaper, die with uv-lambda."""
    prctl = proc.prctl_function()
    if prctl is None:
        return None

    def set_up() -> None:
        prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        prctl(proc.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return set_up


def kill_descendants(pid: int) -> int:
    """SIGKILL everything below `pid` (which stays alive, holding the tree); how many were killed."""
    if not os.path.isdir("/proc"):
        return 0
    killed: set[int] = set()
    for _ in range(_ROUNDS):
        # Zombies are still listed until their parent (pid) dies: only new ones count.
        below = [child for child in descendants(pid) if child not in killed]
        if not below:
            break
        for child in below:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)
            killed.add(child)
    return len(killed)
