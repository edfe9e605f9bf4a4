"""The deterministic archive: splicing compressed entries gives the bytes of direct compression
(bundle/archive.py)."""

from __future__ import annotations

import os
import random
import shutil
import zipfile
import zlib
from pathlib import Path

import pytest

from uv_lambda.bundle import archive
from uv_lambda.errors import BuildError


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


def _large_tree(tree: Path) -> list[archive.SourceFile]:
    """Files around and well above the piece size: compressible text, an incompressible blob
    (stored), a file of exactly one piece, and small files to fill the pool."""
    generator = random.Random(7)
    tree.mkdir()
    text = b"".join(b"line %d of a module with some repetition\n" % (i % 977) for i in range(60_000))
    (tree / "module.so").write_bytes(text + bytes(generator.getrandbits(8) for _ in range(70_000)))
    (tree / "noise.bin").write_bytes(generator.randbytes(archive._PIECE * 2 + 13))
    (tree / "exact.py").write_bytes(text[: archive._PIECE])
    for index in range(10):
        (tree / f"small{index}.py").write_text(f"value = {index}\n" * 50)
    return [archive.SourceFile(path.name, path) for path in sorted(tree.iterdir())]


def test_large_files_are_deflated_in_pieces_that_make_one_valid_stream(tmp_path: Path) -> None:
    sources = _large_tree(tmp_path / "tree")
    entries = {entry.name: entry for entry in archive.compress_files(sources, tmp_path / "scratch.bin", workers=2)}
    large = tmp_path / "tree" / "module.so"
    assert len(archive._pieces(large.stat().st_size)) > 4  # really cut into pieces
    packed = tmp_path / "packed.zip"
    archive.write_archive(packed, list(entries.values()))
    with zipfile.ZipFile(packed) as handle:
        assert handle.testzip() is None  # every CRC checks
        for source in sources:
            assert handle.read(source.name) == source.path.read_bytes()
        assert handle.getinfo("noise.bin").compress_type == zipfile.ZIP_STORED
        assert handle.getinfo("module.so").compress_type == zipfile.ZIP_DEFLATED
    # Within a few bytes per piece of one whole-file stream: the window primes each piece.
    whole = zlib.compressobj(archive.COMPRESS_LEVEL, zlib.DEFLATED, -15)
    single = whole.compress(large.read_bytes()) + whole.flush()
    assert entries["module.so"].data_length <= len(single) * 1.01


def test_pieces_give_the_same_bytes_whatever_the_threads_and_the_path(tmp_path: Path) -> None:
    """The pool (any worker count) and the sequential path of a rebuild's few files agree."""
    sources = _large_tree(tmp_path / "tree")
    archives = []
    for workers in (1, 2, 3):
        out = tmp_path / f"pool{workers}.zip"
        archive.write_archive(out, archive.compress_files(sources, tmp_path / f"s{workers}.bin", workers=workers))
        archives.append(out.read_bytes())
    few = [source for source in sources if source.name in ("module.so", "noise.bin", "exact.py")]
    sequential = [archive._write_compressed(few, map(archive._compress, few), tmp_path / "q.bin")]
    pooled = archive.compress_files(few, tmp_path / "p.bin", workers=2)
    assert archives[0] == archives[1] == archives[2]
    assert [archive.entry_bytes(entry) for entry in sequential[0]] == [archive.entry_bytes(e) for e in pooled]
    out_a, out_b = tmp_path / "a.zip", tmp_path / "b.zip"
    archive.write_archive(out_a, sequential[0])
    archive.write_archive(out_b, pooled)
    assert out_a.read_bytes() == out_b.read_bytes()


def test_a_large_file_that_changes_size_while_it_is_read_is_an_error(tmp_path: Path) -> None:
    """The pieces are cut for the size seen first: a file that grew must not be half-stored."""
    path = tmp_path / "grows.so"
    path.write_bytes(b"x" * (archive._PIECE * 3))
    parts = archive._LargeFile(3)
    parts.packed = [b"p", b"p", b"p"]
    parts.checksum = (0, archive._PIECE * 3 + 1, 0o644)
    with pytest.raises(BuildError, match="changed while it was being archived"):
        archive._joined(archive.SourceFile(path.name, path), parts, archive._PIECE * 3)
    path.write_bytes(b"x" * 10)
    with pytest.raises(BuildError, match="changed while it was being archived"):
        archive._read_piece(archive.SourceFile(path.name, path), archive._PIECE, archive._PIECE, last=False)


def test_a_slice_of_a_blob_is_archived_as_the_file_it_holds(tmp_path: Path) -> None:
    """The compiler's pycs live in blobs: a slice gives the bytes (and archive) the same
    content as a file of its own would, small or in pieces, with mode 0644."""
    small, large = b"small pyc " * 100, bytes(range(256)) * (archive._PIECE // 128)
    blob = tmp_path / "pycs-0.bin"
    blob.write_bytes(b"head" + small + large + b"tail")
    blob.chmod(0o755)
    (tmp_path / "small.pyc").write_bytes(small)
    (tmp_path / "large.pyc").write_bytes(large)
    sliced = [
        archive.SourceFile("a/small.pyc", blob, 4, len(small)),
        archive.SourceFile("a/large.pyc", blob, 4 + len(small), len(large)),
    ]
    files = [
        archive.SourceFile("a/small.pyc", tmp_path / "small.pyc"),
        archive.SourceFile("a/large.pyc", tmp_path / "large.pyc"),
    ]
    one, two = tmp_path / "sliced.zip", tmp_path / "files.zip"
    archive.write_archive(one, archive.compress_files(sliced, tmp_path / "s.bin", workers=2))
    archive.write_archive(two, archive.compress_files(files, tmp_path / "f.bin", workers=2))
    assert one.read_bytes() == two.read_bytes()
    with zipfile.ZipFile(one) as handle:
        assert handle.read("a/large.pyc") == large and handle.read("a/small.pyc") == small
        assert handle.getinfo("a/small.pyc").external_attr >> 16 == 0o100644
    with pytest.raises(BuildError, match="shorter"):
        archive.SourceFile("x.pyc", blob, 4, blob.stat().st_size).read()


def test_an_output_synced_in_the_background_holds_every_byte(tmp_path: Path) -> None:
    """An app-only rebuild starts putting the copied base on the disk on a thread, then goes
    on writing: the archive is the one written in one go, and close() waits for the sync."""
    entries = archive.compress_files(
        [
            archive.SourceFile(f"pkg/m{index}.py", _file(tmp_path / f"m{index}.py", os.urandom(300_000)))
            for index in range(3)
        ],
        tmp_path / "blob.bin",
    )
    base = tmp_path / "base.zip"
    digest = archive.write_archive(base, entries).hex()
    app = archive.compress_files(
        [archive.SourceFile("app/main.py", _file(tmp_path / "main.py", b"x = 1\n"))], tmp_path / "app.bin"
    )
    in_one_go = archive.ArchiveOutput(tmp_path / "one.zip", base, ["app/main.py"], digest)
    in_one_go.finish(app)
    synced = archive.ArchiveOutput(tmp_path / "synced.zip", base, ["app/main.py"], digest)
    synced.sync_in_background()
    synced.finish(app)
    assert (tmp_path / "synced.zip").read_bytes() == (tmp_path / "one.zip").read_bytes()


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
