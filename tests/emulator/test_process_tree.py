"""emulator/process_tree.py: both ways of finding a process's tree give the same answer."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from uv_lambda.emulator import process_tree

# A child that starts a grandchild, which starts a great-grandchild; all sleep.
TREE = (
    "import subprocess, sys, time\n"
    "depth = int(sys.argv[1])\n"
    "if depth: subprocess.Popen([sys.executable, '-c', sys.argv[2], "
    "str(depth - 1), sys.argv[2]])\n"
    "time.sleep(30)\n"
)


@pytest.mark.parametrize("kernel_lists_children", [True, False])
def test_descendants_with_and_without_the_kernels_children_lists(
    monkeypatch: pytest.MonkeyPatch, kernel_lists_children: bool
) -> None:
    if kernel_lists_children and not process_tree._kernel_lists_children():
        pytest.skip("this kernel has no /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN)")
    monkeypatch.setattr(process_tree, "_LISTS_CHILDREN", kernel_lists_children)
    root = subprocess.Popen([sys.executable, "-c", TREE, "2", TREE])
    try:
        found: list[int] = []
        for _ in range(100):  # at most 10 s for the three processes to start
            found = process_tree.descendants(root.pid)
            if len(found) == 2:
                break
            time.sleep(0.1)
        assert len(found) == 2, found
        assert process_tree.children(root.pid) == found[:1]  # each before its own children
        assert process_tree.children(found[0]) == found[1:]
    finally:
        for pid in process_tree.descendants(root.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        root.kill()
        root.wait()
