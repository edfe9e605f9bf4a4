"""bundle/background.py: cache writes that overlap the rest of a build, and always finish."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from uv_lambda.bundle.background import Background, start_removal


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

    with pytest.raises(KeyboardInterrupt), Background() as background:
        background.submit(slow_write)
        # Only now: on a loaded machine the first submit (it imports concurrent.futures) can
        # take longer than the interrupter's 50 ms, and Ctrl-C would come before the task.
        threading.Thread(target=interrupt_main_thread).start()
    assert (tmp_path / "written").read_text() == "complete"


@pytest.mark.parametrize("rm_on_path", [True, False], ids=["rm", "no-rm"])
def test_a_removal_started_early_is_complete_once_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rm_on_path: bool
) -> None:
    """start_removal's `rm -rf` runs beside the build; finishing it leaves nothing, and
    without `rm` on PATH the finish removes the folder itself."""
    tree = tmp_path / "site-packages"
    for index in range(50):
        (tree / f"package{index % 5}" / "sub").mkdir(parents=True, exist_ok=True)
        (tree / f"package{index % 5}" / "sub" / f"module{index}.py").write_text("x = 1\n")
    if not rm_on_path:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    finish = start_removal(tree)
    finish()
    assert not tree.exists()
    assert list(tmp_path.iterdir()) == []
