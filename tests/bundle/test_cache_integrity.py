"""Unit tests of the pieces that keep caches and writes sound: sealed documents, the
atomic-write helper, scratch ownership and the sweep (pure logic on a temporary folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from uv_lambda import atomic, scratch, sealed
from uv_lambda.cache import entry_of, remembered, tree_listing


def test_a_sealed_document_reads_back() -> None:
    document = {"a": [1, 2], "b": "c"}
    assert sealed.loads(sealed.dumps(document)) == document


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"",
        lambda data: data.replace(b'"c"', b'"d"'),
        lambda data: data.rpartition(b"\nsha256:")[0],
        lambda data: data[:-3] + b"00\n",
        lambda data: b"\xff" + data,
    ],
    ids=["truncated", "empty", "edited", "unsealed", "wrong-digest", "garbage"],
)
def test_a_damaged_sealed_document_reads_as_none(damage: object) -> None:
    data = sealed.dumps({"a": [1, 2], "b": "c"})
    assert sealed.loads(damage(data)) is None  # type: ignore[operator]


def test_read_dict_checks_the_shape(tmp_path: Path) -> None:
    path = tmp_path / "doc"
    sealed.write(path, ["a", "list"])
    assert sealed.read(path) == ["a", "list"]
    assert sealed.read_dict(path, "a") is None
    sealed.write(path, {"a": 1})
    assert sealed.read_dict(path, "a", "b") is None
    assert sealed.read_dict(path, "a") == {"a": 1}
    assert sealed.read(tmp_path / "missing") is None


def test_an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "file"
    atomic.write_text(target, "old")

    def fail(handle: object) -> None:
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_replacing_puts_the_file_in_place_only_when_the_block_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "layer.zip"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic.replacing(target) as temporary:
        Path(temporary).write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    with atomic.replacing(target) as temporary:
        Path(temporary).write_text("new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layer.zip"]


def test_folders_are_published_first_wins_or_replaced_whole(tmp_path: Path) -> None:
    def folder(name: str, content: str) -> Path:
        path = tmp_path / name
        path.mkdir()
        (path / "file").write_text(content)
        return path

    final = tmp_path / "entry"
    assert atomic.publish_folder(folder("a", "first"), final)
    assert not atomic.publish_folder(folder("b", "second"), final)  # a concurrent build's twin
    assert (final / "file").read_text() == "first"
    outside = folder("outside", "kept")
    (final / "link").symlink_to(outside, target_is_directory=True)
    atomic.replace_folder(folder("c", "third"), final)
    assert (final / "file").read_text() == "third" and not (final / "link").exists()
    assert (outside / "file").read_text() == "kept"  # the old folder's link was not followed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "entry", "outside"]
    atomic.remove_tree(tmp_path / "b")
    atomic.remove_tree(tmp_path / "missing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry", "outside"]


def test_temporary_names_are_unique_per_process_and_write(tmp_path: Path) -> None:
    first, second = atomic.temporary_name(tmp_path / "x"), atomic.temporary_name(tmp_path / "x")
    assert first != second
    assert f".{os.getpid()}." in first
    assert scratch.owner(os.path.basename(first)) == os.getpid()


def test_a_write_error_names_the_final_file(tmp_path: Path) -> None:
    error = atomic.with_path(OSError(28, "No space left on device"), tmp_path / "function.zip")
    assert error.filename == str(tmp_path / "function.zip")
    named = atomic.with_path(OSError(13, "Permission denied", "/elsewhere"), tmp_path / "x")
    assert named.filename == "/elsewhere"


@pytest.mark.parametrize(
    ("name", "pid"),
    [
        (".install-123-abc", 123),
        (".uv-lambda-45-x", 45),
        (".set-9-a", 9),
        (".rebuild-12-3", 12),
        (".function.zip.77.3.tmp", 77),
        (".uv-lambda-runtime", None),
        (".env", None),
        ("install-1-a", None),
        (".x.tmp", None),
    ],
)
def test_scratch_owners(name: str, pid: int | None) -> None:
    assert scratch.owner(name) == pid


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_sweep_removes_only_scratch_of_dead_processes(tmp_path: Path) -> None:
    dead = _dead_pid()
    mine = tmp_path / f".install-{os.getpid()}-live"
    theirs = tmp_path / f".install-{dead}-dead"
    temporary = tmp_path / f".function.zip.{dead}.1.tmp"
    kept = [tmp_path / "function.zip", tmp_path / ".env", mine]
    for folder in (mine, theirs):
        folder.mkdir()
        (folder / "file").write_text("x")
    for file in (temporary, kept[0], kept[1]):
        file.write_text("x")
    removed = scratch.sweep([tmp_path])
    assert sorted(removed) == sorted(str(path) for path in (theirs, temporary))
    assert all(path.exists() for path in kept)


def test_old_scratch_is_swept_whatever_its_pid(tmp_path: Path) -> None:
    old = tmp_path / f".install-{os.getpid()}-old"
    old.mkdir()
    os.utime(old, (1, 1))
    assert scratch.sweep([tmp_path]) == [str(old)]


def test_a_damaged_file_of_a_set_stands_for_the_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_LAMBDA_CACHE_DIR", str(tmp_path))
    assert entry_of(tmp_path / "sets" / "k" / "dependencies.zip") == str(tmp_path / "sets" / "k")
    assert entry_of(tmp_path / "exports" / "k.json") == str(tmp_path / "exports" / "k.json")


def test_a_damaged_memo_is_computed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_LAMBDA_CACHE_DIR", str(tmp_path))
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        return "0.13.9"

    assert remembered("uv-version", "k", compute, bool) == "0.13.9"
    assert remembered("uv-version", "k", compute, bool) == "0.13.9"
    assert len(calls) == 1
    (memo,) = (tmp_path / "memo").iterdir()
    memo.write_bytes(memo.read_bytes().replace(b"0.13.9", b"0.13.8"))
    assert remembered("uv-version", "k", compute, bool) == "0.13.9"
    assert len(calls) == 2


def test_cache_dir_and_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from uv_lambda.cli import main

    root = tmp_path / "cache"
    monkeypatch.setenv("UV_LAMBDA_CACHE_DIR", str(root))
    (root / "sets" / "k").mkdir(parents=True)
    (root / "sets" / "k" / "dependencies.zip").write_bytes(b"x" * 10)
    (root / "mine.txt").write_text("not uv-lambda's")  # a mistaken cache dir: left alone
    assert main(["cache", "dir"]) == 0
    assert capsys.readouterr().out.strip() == str(root)
    assert main(["cache", "clean"]) == 0
    assert "removed" in capsys.readouterr().err
    assert sorted(path.name for path in root.iterdir()) == ["mine.txt"]
    (root / "mine.txt").unlink()
    assert main(["cache", "clean"]) == 0
    assert not root.exists()


def test_every_folder_the_code_writes_in_the_cache_is_listed() -> None:
    """`cache dir` lists and `cache clean` removes cache.FOLDERS: a folder missing there
    would grow for ever (local-builds/ once was)."""
    import re

    from uv_lambda import cache

    source = Path(cache.__file__).parent
    pattern = re.compile(r'cache_root\(\) / "([\w-]+)"|os\.path\.join\(cache_dir\(\), "([\w-]+)"')
    written = {
        first or second
        for path in source.rglob("*.py")
        for first, second in pattern.findall(path.read_text(encoding="utf-8"))
    }
    assert {"packages", "sets", "rebuild", "local-builds", "unpacked"} <= written  # the pattern still finds them
    assert written <= set(cache.FOLDERS), written - set(cache.FOLDERS)


def test_a_tree_listing_names_files_relative_to_the_folder_however_it_is_spelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "top" / "a" / "b").mkdir(parents=True)
    (tmp_path / "top" / "x.py").write_text("1")
    (tmp_path / "top" / "a" / "b" / "y.py").write_text("22")
    monkeypatch.chdir(tmp_path)
    spellings = [tmp_path / "top", f"{tmp_path}/top/", "top", "./top/", "top/a/.."]
    listings = [[(name, size) for name, size, _ in tree_listing(folder)] for folder in spellings]
    assert listings == [[("x.py", 1), (os.path.join("a", "b", "y.py"), 2)]] * len(spellings)
    assert [name for name, _, _ in tree_listing("top", skip="x.py")] == [os.path.join("a", "b", "y.py")]


def _walked(folder: Path, skip: str = "") -> list[list[object]]:
    """The listing as os.walk gives it: what tree_listing must keep giving (old markers)."""
    listing: list[list[object]] = []
    for parent, folders, files in os.walk(folder):
        folders.sort()
        below = os.path.relpath(parent, folder)
        for name in sorted(files):
            relative = name if below == "." else os.path.join(below, name)
            if relative != skip:
                status = os.lstat(os.path.join(parent, name))
                listing.append([relative, status.st_size, status.st_mtime_ns])
    return listing


def test_a_tree_listing_is_os_walks_with_links_and_unreadable_folders(tmp_path: Path) -> None:
    top = tmp_path / "top"
    for folder in ("a", "a/b", "a.b", "z", "locked"):
        (top / folder).mkdir(parents=True)
    for name in ("a.py", "a/b/c.py", "a.b/d.txt", "z/e", "A.py", "_x.py", "locked/secret"):
        (top / name).write_text(name * 3)
    (top / "link-to-file").symlink_to(top / "a.py")
    (top / "link-to-folder").symlink_to(top / "a")
    (top / "dangling").symlink_to(top / "nowhere")
    (top / "locked").chmod(0)
    try:
        assert tree_listing(top) == _walked(top)
        assert tree_listing(top, skip="a.py") == _walked(top, skip="a.py")
        names = [name for name, _, _ in tree_listing(top)]
        assert (
            "link-to-file" in names and "dangling" in names and not any(n.startswith("link-to-folder/") for n in names)
        )
    finally:
        (top / "locked").chmod(0o755)
    assert tree_listing(tmp_path / "missing") == []
