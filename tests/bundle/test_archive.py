"""The deterministic archive: splicing compressed entries gives the bytes of direct compression
(bundle/archive.py)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from uv_lambda.bundle import archive


def test_archive_splicing_is_byte_identical_to_direct_compression(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "a.py").write_text("x = 1\n" * 500)
    (tree / "pkg" / "blob.bin").write_bytes(bytes(range(256)) * 10)
    (tree / "run.sh").write_text("#!/bin/sh\n")
    (tree / "run.sh").chmod(0o700)
    sources = [archive.SourceFile(p.relative_to(tree).as_posix(), p) for p in sorted(tree.rglob("*")) if p.is_file()]
    direct = tmp_path / "direct.zip"
    archive.write_archive(direct, archive.compress_files(sources, tmp_path / "scratch.bin"))
    spliced = tmp_path / "spliced.zip"
    archive.write_archive(spliced, archive.read_entries(direct))
    assert direct.read_bytes() == spliced.read_bytes()
    prefixed = tmp_path / "prefixed.zip"
    archive.write_archive(prefixed, archive.with_prefix(archive.read_entries(direct), "python/"))
    with zipfile.ZipFile(prefixed) as handle:
        assert handle.testzip() is None
        assert handle.read("python/pkg/a.py") == (tree / "pkg" / "a.py").read_bytes()
        assert handle.getinfo("python/run.sh").external_attr >> 16 == 0o100755
        assert handle.getinfo("python/pkg/a.py").external_attr >> 16 == 0o100644


def test_archive_on_a_base_keeps_the_base_bytes_and_merges_on_collision(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "lib").mkdir(parents=True)
    (tree / "lib" / "x.py").write_text("x = 1\n")
    (tree / "app").mkdir()
    (tree / "app" / "main.py").write_text("print('app')\n")
    base = tmp_path / "base.zip"
    archive.write_archive(
        base, archive.compress_files([archive.SourceFile("lib/x.py", tree / "lib" / "x.py")], tmp_path / "b")
    )
    app = archive.compress_files([archive.SourceFile("app/main.py", tree / "app" / "main.py")], tmp_path / "a")
    combined = tmp_path / "combined.zip"
    archive.write_archive(combined, app, base=base)
    base_bytes = base.read_bytes()
    central_offset = int.from_bytes(base_bytes[-6:-2], "little")
    assert combined.read_bytes()[:central_offset] == base_bytes[:central_offset]
    with zipfile.ZipFile(combined) as handle:
        assert handle.testzip() is None
        assert handle.namelist() == ["lib/", "lib/x.py", "app/", "app/main.py"]
    override = archive.compress_files([archive.SourceFile("lib/x.py", tree / "app" / "main.py")], tmp_path / "o")
    merged = tmp_path / "merged.zip"
    archive.write_archive(merged, override, base=base)
    with zipfile.ZipFile(merged) as handle:
        assert handle.namelist() == ["lib/", "lib/x.py"] and handle.read("lib/x.py") == b"print('app')\n"


def _tree_entries(tree: Path, scratch: Path) -> list[archive.Entry]:
    sources = [archive.SourceFile(p.relative_to(tree).as_posix(), p) for p in sorted(tree.rglob("*")) if p.is_file()]
    return archive.compress_files(sources, scratch)


@pytest.mark.parametrize("block_bytes", [1 << 20, 300])  # 300: runs split every few entries
def test_unchanged_entries_copied_in_blocks_give_the_bytes_of_a_fresh_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    """An app-only rebuild copies runs of unchanged entries of the previous artifact as one
    block: after an edit that changes an entry's size, files added and deleted, the archive is
    byte for byte the one written from scratch, on a base and without."""
    monkeypatch.setattr(archive, "_BLOCK_BYTES", block_bytes)
    tree = tmp_path / "tree"
    for package in ("app", "app/sub", "lib", "zeta"):
        (tree / package).mkdir(parents=True)
        for index in range(8):
            (tree / package / f"m{index}.py").write_text(f"value = {index}\n" * (index + 1) * 20)
    (tree / "app" / "naïve.py").write_text("accent = 1\n")
    (tree / "app" / "run.sh").write_text("#!/bin/sh\n")
    (tree / "app" / "run.sh").chmod(0o755)
    base = tmp_path / "base.zip"
    (tmp_path / "deps" / "dep").mkdir(parents=True)
    (tmp_path / "deps" / "dep" / "__init__.py").write_text("dep = 1\n")
    archive.write_archive(base, _tree_entries(tmp_path / "deps", tmp_path / "deps.bin"))
    for on_base in (None, base):
        previous = tmp_path / f"previous-{bool(on_base)}.zip"
        skip = len(archive.read_entries(base)) + 1 if on_base else 0  # the base's file and folder records
        archive.write_archive(previous, _tree_entries(tree, tmp_path / "first.bin"), base=on_base)
        entries = {entry.name: entry for entry in archive.read_entries(previous, skip)}
        assert all(entry.local_header >= 0 for entry in entries.values())
        # The edit: one file grows, one is added in a new folder and one beside the others,
        # two are deleted (the second empties its folder).
        (tree / "app" / "m3.py").write_text("grown = 1\n" * 500)
        (tree / "app" / "new").mkdir()
        (tree / "app" / "new" / "fresh.py").write_text("fresh = 1\n")
        (tree / "lib" / "m8.py").write_text("added = 1\n")
        (tree / "app" / "m5.py").unlink()
        for name in list(entries):
            if name in ("app/m5.py", "zeta/m0.py"):
                del entries[name]
        changed = ["app/m3.py", "app/new/fresh.py", "lib/m8.py"]
        fresh = archive.compress_files([archive.SourceFile(n, tree / n) for n in changed], tmp_path / "new.bin")
        entries.update({entry.name: entry for entry in fresh})
        (tree / "zeta" / "m0.py").unlink()

        rebuilt = tmp_path / f"rebuilt-{bool(on_base)}.zip"
        archive.write_archive(rebuilt, entries.values(), base=on_base)
        one_by_one = tmp_path / f"one-by-one-{bool(on_base)}.zip"
        archive.write_archive(one_by_one, [e._replace(local_header=-1) for e in entries.values()], base=on_base)
        scratch = tmp_path / f"scratch-{bool(on_base)}.zip"
        archive.write_archive(scratch, _tree_entries(tree, tmp_path / "again.bin"), base=on_base)
        assert rebuilt.read_bytes() == one_by_one.read_bytes() == scratch.read_bytes()
        with zipfile.ZipFile(rebuilt) as handle:
            assert handle.testzip() is None
            assert handle.read("app/m3.py") == (tree / "app" / "m3.py").read_bytes()
            assert "zeta/m0.py" not in handle.namelist() and "app/m5.py" not in handle.namelist()
        # Back to the tree as first written, for the run on the base.
        shutil.rmtree(tree / "app" / "new")
        (tree / "lib" / "m8.py").unlink()
        (tree / "app" / "m3.py").write_text("value = 3\n" * 80)
        (tree / "app" / "m5.py").write_text("value = 5\n" * 120)
        (tree / "zeta" / "m0.py").write_text("value = 0\n" * 20)


def test_a_block_whose_headers_are_not_the_writers_is_written_entry_by_entry(tmp_path: Path) -> None:
    """An entry renamed after it was read keeps its old local header in the source: the block
    copy sees that its header is not the one to write, and writes the run entry by entry."""
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    for index in range(5):
        (tree / "pkg" / f"m{index}.py").write_text(f"x = {index}\n")
    first = tmp_path / "first.zip"
    archive.write_archive(first, _tree_entries(tree, tmp_path / "a.bin"))
    entries = archive.read_entries(first)
    renamed = [entries[0], entries[1]._replace(name="pkg/m1b.py"), *entries[2:]]  # local_header kept on purpose
    out = tmp_path / "out.zip"
    archive.write_archive(out, renamed)
    reference = tmp_path / "reference.zip"
    archive.write_archive(reference, [entry._replace(local_header=-1) for entry in renamed])
    assert out.read_bytes() == reference.read_bytes()
    with zipfile.ZipFile(out) as handle:
        assert handle.testzip() is None
        assert handle.read("pkg/m1b.py") == b"x = 1\n"
