"""bwrap's trial run starts on a thread while a local run reads its configuration, and is the
one `choose` uses: one trial per process (emulator/sandbox.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from uv_lambda.emulator import sandbox


@pytest.fixture
def trials(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The trial runs of bwrap, counted around the real proc.run; the cached answer forgotten."""
    sandbox.bwrap_problem.cache_clear()
    monkeypatch.setattr(sandbox, "_probing", [])
    runs: list[str] = []
    real = sandbox.proc.run

    def counted(command: list[str], *args: Any, **kwargs: Any) -> Any:
        runs.append(str(command[0]))
        return real(command, *args, **kwargs)

    monkeypatch.setattr(sandbox.proc, "run", counted)
    yield runs
    sandbox.bwrap_problem.cache_clear()


def test_the_probe_started_early_is_the_one_choose_uses(trials: list[str]) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    sandbox.probe_in_background("auto")
    chosen = sandbox.choose("auto", Path(sys.executable), version)
    assert not any(thread.is_alive() for thread in sandbox._probing)
    assert len(trials) == (1 if shutil.which("bwrap") else 0)
    bwrap, problem = sandbox.bwrap_problem()
    assert chosen.enabled == (
        bwrap is not None and sandbox.interpreter_prefix(Path(sys.executable), version) is not None
    )
    assert (bwrap is None) == (problem is not None)
    sandbox.probe_in_background("auto")  # answered already: no second trial
    assert len(trials) == (1 if shutil.which("bwrap") else 0)


def test_no_probe_when_the_sandbox_is_off(trials: list[str]) -> None:
    sandbox.probe_in_background("off")
    assert sandbox._probing == []
    assert not sandbox.choose("off", Path(sys.executable), "3.13").enabled
    assert trials == []
