"""Two builds of one project into one output folder at the same time: both succeed and the
artifact is a valid clean build's, or the second waits for the first and says so."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from build_attack import (
    MAIN_A,
    MAIN_B,
    BuildReference,
    assert_nothing_half_written,
    damaged_entries,
)

from uv_lambda.metadata_file import digests

pytestmark = pytest.mark.slow

PAIRS = 20
WAITING = "waiting for another uv-lambda build"


def test_twenty_pairs_of_concurrent_builds(build_reference: BuildReference, tmp_path: Path) -> None:
    victim = build_reference.victim(tmp_path)
    waited = 0
    for pair in range(PAIRS):
        version, main = ("A", MAIN_A) if pair % 2 == 0 else ("B", MAIN_B)
        victim.edit(main)
        if pair % 5 == 4:  # now and then from an empty cache: the two race for every entry
            shutil.rmtree(victim.cache)
        # Alternate: the same command line twice (the app-only path may serve both), or a
        # full build (-v) against an app-only one.
        second = ("-v",) if pair % 3 == 1 else ()
        first_process, second_process = victim.start(), victim.start(*second)
        outcomes = [process.communicate(timeout=300) for process in (first_process, second_process)]
        for process, (_, stderr) in zip((first_process, second_process), outcomes, strict=True):
            assert process.returncode == 0, f"pair {pair}: {stderr}"
            assert "Traceback" not in stderr and "internal error" not in stderr, stderr
        waited += sum(WAITING in stderr for _, stderr in outcomes)
        artifact = victim.out / "function.zip"
        assert victim.artifacts() == build_reference.artifacts["zip", version], f"pair {pair}"
        with zipfile.ZipFile(artifact) as handle:
            assert handle.testzip() is None
        metadata = (victim.out / "function.zip.json").read_text()
        assert digests(artifact)[0] in metadata, f"pair {pair}: metadata of another artifact"
        assert_nothing_half_written(victim)
    assert damaged_entries(victim.cache) == []
    # Full builds of one folder take turns: at least one pair must have met the lock.
    assert waited >= 1
