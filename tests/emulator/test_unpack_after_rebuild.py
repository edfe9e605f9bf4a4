"""A local run after an app-only rebuild in the same process (invoke, serve --watch): the
unpack cache takes the rebuild's note of what changed (bundle/rebuild/changes.py) instead of
reading the archive again, and the tree it makes is the archive's, file for file, with an
entries.json that still tells a file changed by hand. A note that does not fit the current
tree (another archive, a tampered file) is ignored: the archive is read as always."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from tests.bundle.build_helpers import ORDERS_PYPROJECT, artifact
from tests.conftest import CliRunner, write_project

from uv_lambda.bundle.rebuild.incremental import rebuild_at, record_path
from uv_lambda.emulator import unpack_cache
from uv_lambda.emulator.layout import Layout
from uv_lambda.emulator.unpack_cache import unpack
from uv_lambda.emulator.unpack_checks import UnpackChecks
from uv_lambda.errors import UsageError

HANDLER = "import six\n\ndef handler(event, context):\n    return {'six': six.__version__}\n"


def _archive_files(code: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(code) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


def _tree_files(layout: Layout) -> dict[str, bytes]:
    root = layout.task_root
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _listing_is_true(layout: Layout) -> None:
    """entries.json names every file of the tree with its size and mtime (docs/cache.md)."""
    document = json.loads((layout.root / "entries.json").read_text())
    on_disk = {f"task/{name}" for name in _tree_files(layout)}
    assert {name for name in document["files"] if name.startswith("task/")} == on_disk
    for name, (_, size, _, mtime) in document["files"].items():
        status = os.stat(layout.root / name)
        assert (status.st_size, status.st_mtime_ns) == (size, mtime), name


@pytest.mark.slow
def test_an_unpack_after_a_rebuild_writes_only_what_it_changed(
    tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"app/__init__.py": "", "app/main.py": HANDLER, "app/util.py": "X = 1\n", "app/old/__init__.py": ""}
    root = write_project(tmp_path / "orders", ORDERS_PYPROJECT, files)
    assert cli("build", root).returncode == 0
    code = artifact(root)
    record = record_path(code.parent)
    unpack(code, draft=False).remove()  # the full build's tree, from the archive
    reads: list[Path] = []
    real_open = unpack_cache._open
    monkeypatch.setattr(unpack_cache, "_open", lambda archive, what: reads.append(archive) or real_open(archive, what))

    # Edited, added (in a new folder) and removed (with the folder it was alone in) files.
    (root / "app" / "main.py").write_text(HANDLER.replace("'six'", "'version'"))
    (root / "app" / "extra").mkdir()
    (root / "app" / "extra" / "__init__.py").write_text("Y = 1\n")
    (root / "app" / "old" / "__init__.py").unlink()
    (root / "app" / "old").rmdir()
    assert rebuild_at(record) is not None
    layout = unpack(code, draft=False)
    try:
        assert reads == []  # the rebuild's note stood for the archive
        assert _tree_files(layout) == _archive_files(code)
        assert not (layout.task_root / "app" / "old").exists()
        _listing_is_true(layout)
        main = layout.task_root / "app" / "util.py"
    finally:
        layout.remove()

    # A file changed by hand in the tree: the note does not cover it, the archive is read.
    os.chmod(main, 0o644)
    main.write_text("X = 'tampered'\n")
    (root / "app" / "main.py").write_text(HANDLER)
    assert rebuild_at(record) is not None
    layout = unpack(code, draft=False)
    try:
        assert reads == [code]
        assert _tree_files(layout) == _archive_files(code)
        _listing_is_true(layout)
    finally:
        layout.remove()

    # Two rebuilds before a run: the second note starts from an archive the tree was not made
    # from, so the archive is read.
    for value in ("2", "3"):
        (root / "app" / "util.py").write_text(f"X = {value}\n")
        assert rebuild_at(record) is not None
    layout = unpack(code, draft=False)
    try:
        assert reads == [code, code]
        assert _tree_files(layout)["app/util.py"] == b"X = 3\n" and _tree_files(layout) == _archive_files(code)
    finally:
        layout.remove()


def _info(name: str, size: int = 1) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.file_size = size
    return info


@pytest.mark.parametrize(
    ("name", "files", "folders", "error"),
    [
        ("app/x.py/y.py", {"app/x.py"}, {"app"}, "under 'app/x.py', which is a file"),
        ("app", set(), {"app"}, "'app' is a folder"),
        ("../" + "n" * 300, set(), set(), "a name part over 255 bytes"),
    ],
)
def test_the_checks_of_an_update_refuse_what_cannot_be_placed(
    name: str, files: set[str], folders: set[str], error: str
) -> None:
    with pytest.raises(UsageError, match=error):
        UnpackChecks().check_update(
            Path("f.zip"), [_info(name)], what="code zip", unchanged=(1, 1), files=files, folders=folders
        )


def test_the_checks_of_an_update_count_the_whole_tree() -> None:
    checks = UnpackChecks(unzipped_limit=100, file_limit=10)
    checks.check_update(Path("f.zip"), [_info("a.py", 10)], what="code zip", unchanged=(5, 80), files=(), folders=())
    with pytest.raises(UsageError, match="over Lambda's limit of 100 bytes"):
        UnpackChecks(unzipped_limit=100).check_update(
            Path("f.zip"), [_info("a.py", 30)], what="code zip", unchanged=(5, 80), files=(), folders=()
        )
    with pytest.raises(UsageError, match="more than 10 entries"):
        UnpackChecks(file_limit=10).check_update(
            Path("f.zip"), [_info("a.py")], what="code zip", unchanged=(10, 0), files=(), folders=()
        )
