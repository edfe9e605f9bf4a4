"""bundle/background.py: cache writes that overlap the rest of a build, and always finish."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from uv_lambda.bundle.background import Background


def test_tasks_run_in_order_and_are_waited_for(tmp_path: Path) -> None:
    order: list[int] = []
    with Background() as background:
        for number in range(5):
            background.submit(order.append, number)
    assert order == [0, 1, 2, 3, 4]


def test_a_failed_task_fails_the_build_when_nothing_else_did() -> None:
    def fail() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"), Background() as background:
        background.submit(fail)


def test_ctrl_c_while_waiting_still_lets_the_tasks_finish(tmp_path: Path) -> None:
    """A build stopped while its background writes run must not leave them half done: the
    last task removes the scratch they write in (dependencies.ensure)."""
    signalled = threading.Event()

    def interrupt_main_thread() -> None:
        threading.Event().wait(0.05)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        signalled.set()

    def slow_write() -> None:
        assert signalled.wait(10)  # still running when Ctrl-C arrives
        (tmp_path / "written").write_text("complete")

    threading.Thread(target=interrupt_main_thread).start()
    with pytest.raises(KeyboardInterrupt), Background() as background:
        background.submit(slow_write)
    assert (tmp_path / "written").read_text() == "complete"
