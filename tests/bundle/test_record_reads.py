"""The build record is parsed once per command: a read that only looks at it (`peek`) leaves it
for the next read of the same, unchanged file (bundle/rebuild/record_file.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from uv_lambda import sealed
from uv_lambda.bundle.rebuild import record_file


@pytest.fixture(autouse=True)
def _nothing_remembered() -> None:
    record_file._peeked.clear()
    record_file._put_off.clear()


def test_a_peeked_record_is_handed_to_the_next_read_once(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    record_file.write(record, record_file.OwnerRecord({"architecture": "arm64"}))
    first = record_file.read(record, peek=True)
    assert isinstance(first, record_file.OwnerRecord) and first.overrides == {"architecture": "arm64"}
    assert record_file.read(record, peek=True) is first
    assert record_file.read(record) is first  # taken: the caller may change it
    again = record_file.read(record)
    assert again is not first and isinstance(again, record_file.OwnerRecord)
    assert again.overrides == first.overrides


def test_a_record_rewritten_after_a_peek_is_read_again(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    record_file.write(record, record_file.OwnerRecord({"runtime": "python3.12"}))
    assert record_file.read(record, peek=True) is not None
    # Rewritten by another process (the same size and mtime, a new file in place).
    stat = os.stat(record)
    temporary = tmp_path / "other.json"
    sealed.write(temporary, record_file.OwnerRecord({"runtime": "python3.13"}).to_json())
    os.utime(temporary, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(temporary, record)
    reread = record_file.read(record)
    assert isinstance(reread, record_file.OwnerRecord) and reread.overrides == {"runtime": "python3.13"}


def test_a_record_damaged_in_place_after_a_peek_reads_as_none(tmp_path: Path) -> None:
    """Written in place with its mtime put back: the ctime still says it changed, and the
    damaged record is a full build, as without the peek."""
    record = tmp_path / "record.json"
    record_file.write(record, record_file.OwnerRecord({"runtime": "python3.12"}))
    assert record_file.read(record, peek=True) is not None
    stat = os.stat(record)
    data = record.read_bytes()
    record.write_bytes(data.replace(b"3.12", b"3.11"))
    os.utime(record, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert record_file.read(record) is None


def test_a_missing_record_is_never_remembered(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    assert record_file.read(record, peek=True) is None
    record_file.write(record, record_file.OwnerRecord({}))
    assert isinstance(record_file.read(record), record_file.OwnerRecord)


def test_a_record_write_put_off_is_done_before_any_read(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    record_file.write(record, record_file.OwnerRecord({"runtime": "python3.12"}))
    assert record_file.read(record, peek=True) is not None
    record_file.put_off(lambda: record_file.write(record, record_file.OwnerRecord({"runtime": "python3.13"})))
    assert record_file.any_put_off()
    reread = record_file.read(record)  # not the record peeked at before the write put off
    assert isinstance(reread, record_file.OwnerRecord) and reread.overrides == {"runtime": "python3.13"}
    assert not record_file.any_put_off()


def test_a_failed_write_put_off_is_raised_and_the_next_stays_put_off(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    written: list[str] = []

    def fail() -> None:
        raise OSError(28, "No space left on device")

    record_file.put_off(fail)
    record_file.put_off(lambda: written.append("second"))
    with pytest.raises(OSError, match="No space"):
        record_file.write_put_off()
    assert written == [] and record_file.any_put_off()
    assert record_file.read(record) is None  # the read does what is still put off first
    assert written == ["second"] and not record_file.any_put_off()
