"""The deterministic archive: splicing compressed entries gives the bytes of direct compression
(bundle/archive.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

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
