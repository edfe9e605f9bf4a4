"""A disk that fills up during a build (a small tmpfs): `no space left on device writing
<path>`, exit 1, the previous artifact byte-identical, no empty folder, no temporary file,
no damaged cache entry; once there is room again the build is a clean build's bytes."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from build_attack import (
    MAIN_B,
    BuildReference,
    Victim,
    assert_clean_run,
    assert_nothing_half_written,
    assert_one_line_error,
    damaged_entries,
    scratch_left,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MB tmpfs, unmounted afterwards; skipped where mounting is not allowed."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m,mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


def _fill(disk: Path, leave: int = 0) -> Path:
    """Fill `disk` up to `leave` bytes of free room; the filler file."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        for _ in range(1 << 20):  # bounded: 4 GB at most
            handle.write(b"\0" * 4096)
    if leave:
        size = filler.stat().st_size
        with filler.open("r+b") as handle:
            handle.truncate(max(0, size - leave))
    return filler


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def test_the_previous_artifact_survives_a_full_disk(
    build_reference: BuildReference, tmp_path: Path, small_disk: Path
) -> None:
    victim = build_reference.victim(tmp_path)
    out = small_disk / "out"
    assert_clean_run(victim.build("--out", str(out)))
    before = _snapshot(out)
    filler = _fill(small_disk)
    victim.edit(MAIN_B)

    failed = victim.build("--out", str(out))

    assert_one_line_error(failed, 1, "no space left on device writing", str(out / "function.zip"))
    assert _snapshot(out) == before
    assert scratch_left(small_disk, victim.cache, victim.tmp) == []
    assert damaged_entries(victim.cache) == []
    filler.unlink()
    assert_clean_run(victim.build("--out", str(out)))
    assert (out / "function.zip").read_bytes() == build_reference.artifacts["zip", "B"]["function.zip"]


def test_a_new_output_folder_on_a_full_disk_is_not_left_empty(
    build_reference: BuildReference, tmp_path: Path, small_disk: Path
) -> None:
    victim = build_reference.victim(tmp_path)
    _fill(small_disk)
    out = small_disk / "new" / "deeper"
    failed = victim.build("--out", str(out))
    assert_one_line_error(failed, 1, "no space left on device writing")
    assert sorted(path.name for path in small_disk.iterdir()) == ["filler"]


def test_a_cache_on_a_full_disk(build_reference: BuildReference, tmp_path: Path, small_disk: Path) -> None:
    """The cache fills up while packages are stored: no damaged entry remains, and the
    build succeeds once there is room."""
    victim = build_reference.victim(tmp_path, warm=False)
    victim = Victim(victim.project, small_disk / "cache", victim.tmp)
    filler = _fill(small_disk, leave=256 * 1024)
    failed = victim.build()
    assert_one_line_error(failed, 1, "no space left on device")
    assert not victim.out.exists()
    assert damaged_entries(victim.cache) == []
    assert scratch_left(victim.cache, victim.project, victim.tmp) == []
    filler.unlink()
    assert_clean_run(victim.build())
    assert victim.artifacts() == build_reference.artifacts["zip", "A"]
    assert_nothing_half_written(victim)
