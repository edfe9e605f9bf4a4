"""The processes below a process, read from /proc (Linux).

Used on the memory sample of every invocation (emulator/memory.py) and when an environment
stops (emulator/reaper.py). Where the kernel provides `/proc/<pid>/task/<tid>/children`
(CONFIG_PROC_CHILDREN), only the tree itself is read; elsewhere one pass over every
`/proc/<pid>/stat` finds the parents.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable

# A process tree is finite, but a fork bomb is not worth following past this many processes.
_LIMIT = 4096


def read(path: str) -> bytes:
    """A /proc file's bytes; empty once its process is gone."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:  # the process is gone
        return b""


def _kernel_lists_children() -> bool:
    return os.path.exists(f"/proc/self/task/{os.getpid()}/children")


_LISTS_CHILDREN = _kernel_lists_children()


def _children_listed(pid: int) -> list[int]:
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for tid in threads:
        found.extend(int(child) for child in read(f"/proc/{pid}/task/{tid}/children").split())
    return found


def _children_by_parent() -> defaultdict[int, list[int]]:
    """parent pid -> its children, for every process that can be seen in /proc."""
    children: defaultdict[int, list[int]] = defaultdict(list)
    try:
        names = os.listdir("/proc")
    except OSError:
        return children
    for name in names:
        if not name.isdigit():
            continue
        stat = read(f"/proc/{name}/stat")
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            children[int(fields[1])].append(int(name))
    return children


def children(pid: int) -> list[int]:
    """The child processes of `pid` (of all its threads)."""
    if _LISTS_CHILDREN:
        return _children_listed(pid)
    return _children_by_parent()[pid]


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, each before its own children."""
    # Without the kernel's lists: one pass over /proc for the whole tree.
    below: Callable[[int], list[int]] = _children_listed if _LISTS_CHILDREN else _children_by_parent().__getitem__
    found: list[int] = []
    pending = list(below(pid))
    while pending and len(found) < _LIMIT:
        child = pending.pop()
        found.append(child)
        pending += below(child)
    return found
