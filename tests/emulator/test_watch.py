"""The source watcher of `serve --watch`: a change is noticed at once, then reported once settled."""

from __future__ import annotations

import threading
from pathlib import Path

from uv_lambda.emulator.watch import Watcher


def test_a_change_is_noticed_before_it_is_reported(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("A = 1\n")
    events: list[str] = []
    changed = threading.Event()

    def on_change() -> None:
        events.append("change")
        changed.set()

    watcher = Watcher(tmp_path, on_change, on_notice=lambda: events.append("notice"), fastest=0.01)
    watcher.start()
    try:
        # Edits until one is seen (the first may come before the watcher's first snapshot).
        for edit in range(50):
            (tmp_path / "app.py").write_text(f"A = {edit + 2}\n")
            if changed.wait(0.2):
                break
        assert changed.is_set()
    finally:
        watcher.stop()
    assert events[:2] == ["notice", "change"]
