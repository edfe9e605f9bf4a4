"""SIGINT, SIGTERM and SIGKILL at random moments of a first build (install, compile,
compress, write): the build's whole process tree stops, the previous artifact is untouched,
and the next build sweeps what a killed one left and writes exactly a clean build's bytes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from build_attack import (
    MAIN_B,
    BuildReference,
    Victim,
    assert_clean_run,
    assert_nothing_half_written,
    damaged_entries,
    scratch_left,
)

from uv_lambda.metadata_file import digests

pytestmark = pytest.mark.slow

TRIALS = 5  # per signal; moments drawn with a fixed seed, so a failure can be replayed
SEED = 9


def _processes_of(victim: Victim) -> list[int]:
    """Processes (other than zombies) whose environment names this victim's private cache:
    every process a build starts inherits it."""
    marker = f"UV_LAMBDA_CACHE_DIR={victim.cache}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                environment = handle.read().split(b"\0")
            with open(f"/proc/{name}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in environment and state != b"Z":
            found.append(int(name))
    return found


def _wait_until_gone(victim: Victim, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = _processes_of(victim)
        if not left:
            return []
        time.sleep(0.05)
    return _processes_of(victim)


def _moments(count: int, longest: float, salt: int) -> list[float]:
    generator = random.Random(SEED * 1000 + salt)
    return [generator.uniform(0.05, longest) for _ in range(count)]


@pytest.fixture(scope="module")
def clean_build_seconds(build_reference: BuildReference, tmp_path_factory: pytest.TempPathFactory) -> float:
    """How long a first build (empty cache) takes here: signals land within it."""
    victim = build_reference.victim(tmp_path_factory.mktemp("timing"), warm=False)
    started = time.monotonic()
    assert_clean_run(victim.build())
    return time.monotonic() - started


@pytest.mark.parametrize(
    ("signal_number", "salt"),
    [(signal.SIGINT, 1), (signal.SIGTERM, 2), (signal.SIGKILL, 3)],
    ids=["SIGINT", "SIGTERM", "SIGKILL"],
)
@pytest.mark.parametrize("trial", range(TRIALS))
def test_a_signal_at_a_random_moment(
    build_reference: BuildReference,
    tmp_path: Path,
    clean_build_seconds: float,
    signal_number: int,
    salt: int,
    trial: int,
) -> None:
    victim = build_reference.victim(tmp_path, warm=False)
    # A previous artifact (version A, built into another cache) that must survive the kill.
    previous = build_reference.victim(tmp_path / "previous")
    assert_clean_run(previous.build("--out", str(victim.out)))
    assert victim.artifacts() == build_reference.artifacts["zip", "A"]
    victim.edit(MAIN_B)

    moment = _moments(TRIALS, clean_build_seconds, salt)[trial]
    process = victim.start()
    time.sleep(moment)
    process.send_signal(signal_number)
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"the build did not stop within 60 s of signal {signal_number}") from None

    left = _wait_until_gone(victim, 10)
    assert left == [], f"processes of the build still running {moment:.2f} s in: {left}"
    # Each artifact and its metadata are replaced together, once complete: the folder holds
    # the previous build (A) or this one (B), never a mix, whenever the signal landed.
    artifacts = victim.artifacts()
    assert artifacts in (build_reference.artifacts["zip", "A"], build_reference.artifacts["zip", "B"])
    if signal_number != signal.SIGKILL:  # held back while the two are renamed; SIGKILL cannot be
        assert digests(victim.out / "function.zip")[0] in (victim.out / "function.zip.json").read_text()
    finished = artifacts == build_reference.artifacts["zip", "B"]
    if process.returncode == 0:  # the signal came after the build finished
        assert finished
    elif process.returncode == -signal_number and (finished or stderr == ""):
        pass  # the signal's own default action: while Python exits, or before it set its handlers
    elif signal_number != signal.SIGKILL:
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr, stderr
        errors = [line for line in stderr.splitlines() if line.startswith(("error:", "hint:"))]
        assert errors[0] == "error: interrupted" and len(errors) == 2, stderr
        assert "replaced only once complete" in errors[1]
        assert scratch_left(victim.cache, victim.project, victim.tmp) == []

    rebuilt = victim.build()
    assert_clean_run(rebuilt)
    assert victim.artifacts() == build_reference.artifacts["zip", "B"]
    assert digests(victim.out / "function.zip")[0] in (victim.out / "function.zip.json").read_text()
    assert_nothing_half_written(victim)  # a killed build's scratch was swept
    assert damaged_entries(victim.cache) == []
