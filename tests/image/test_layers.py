"""Deterministic layers: same tree -> same bytes; normalised owners, modes and times."""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
from pathlib import Path

from image_helpers import make_staged

from uv_lambda.image.layers import FIXED_MTIME, build_layer, has_files
from uv_lambda.image.store import BlobStore


def _members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path, "r:gz") as tar:
        return tar.getmembers()


def test_layer_entries_are_normalised(tmp_path: Path) -> None:
    staged = make_staged(tmp_path / "s")
    os.symlink("adapter.py", staged.dependencies_dir / "mangum" / "alias.py")
    layer = build_layer(staged.dependencies_dir, BlobStore(tmp_path / "store"), name="dependencies")
    members = _members(layer.path)
    names = [member.name for member in members]
    assert names[:2] == ["var", "var/task"]
    assert names == ["var", "var/task", *sorted(names[2:])]
    assert {"var/task/mangum/__init__.py", "var/task/bin/tool"} <= set(names)
    by_name = {member.name: member for member in members}
    assert by_name["var/task/bin/tool"].mode == 0o755  # was 0700 on disk
    assert by_name["var/task/mangum/adapter.py"].mode == 0o644
    assert by_name["var/task/mangum"].isdir() and by_name["var/task/mangum"].mode == 0o755
    assert by_name["var/task/mangum/alias.py"].issym()
    assert by_name["var/task/mangum/alias.py"].linkname == "adapter.py"
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == FIXED_MTIME
    assert layer.file_count == 3


def test_gzip_header_has_no_name_and_no_time(tmp_path: Path) -> None:
    staged = make_staged(tmp_path / "s")
    layer = build_layer(staged.app_dir, BlobStore(tmp_path / "store"), name="application")
    header = layer.path.read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] & 0x08 == 0  # FNAME flag clear
    assert header[4:8] == b"\0\0\0\0"  # MTIME zero
    assert len(gzip.decompress(layer.path.read_bytes())) % 512 == 0


def test_same_tree_elsewhere_gives_same_digest(tmp_path: Path) -> None:
    first = make_staged(tmp_path / "a")
    second = make_staged(tmp_path / "b")
    os.utime(second.app_dir / "app" / "main.py", (1, 1))  # other mtimes, other place, other store
    a = build_layer(first.app_dir, BlobStore(tmp_path / "store-a"), name="application")
    b = build_layer(second.app_dir, BlobStore(tmp_path / "store-b"), name="application")
    assert (a.digest, a.diff_id, a.size) == (b.digest, b.diff_id, b.size)
    assert a.path.read_bytes() == b.path.read_bytes()


def test_a_changed_file_changes_the_digest(tmp_path: Path) -> None:
    staged = make_staged(tmp_path / "s")
    store = BlobStore(tmp_path / "store")
    before = build_layer(staged.app_dir, store, name="application")
    (staged.app_dir / "app" / "main.py").write_text("def handler(event, context):\n    return 2\n")
    after = build_layer(staged.app_dir, store, name="application")
    assert after.digest != before.digest and after.diff_id != before.diff_id


def test_unchanged_tree_is_not_compressed_again(tmp_path: Path) -> None:
    staged = make_staged(tmp_path / "s")
    store = BlobStore(tmp_path / "store")
    first = build_layer(staged.dependencies_dir, store, name="dependencies")
    stamp = first.path.stat().st_mtime_ns
    second = build_layer(staged.dependencies_dir, store, name="dependencies")
    assert second == first
    assert first.path.stat().st_mtime_ns == stamp
    # A lost blob is rebuilt, not trusted from the record.
    first.path.unlink()
    third = build_layer(staged.dependencies_dir, store, name="dependencies")
    assert third.digest == first.digest and third.path.is_file()


def test_has_files(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    assert not has_files(tmp_path / "empty")
    assert not has_files(tmp_path / "missing")
    shutil.copytree(tmp_path / "empty", tmp_path / "full")
    (tmp_path / "full" / "sub" / "x.py").write_text("")
    assert has_files(tmp_path / "full")
