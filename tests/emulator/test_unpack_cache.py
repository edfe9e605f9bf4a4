"""The unpack cache of local runs (emulator/unpack_cache.py): a generation is reused while the
artifact's entries are the same, a new one links what did not change, a run keeps the tree it
started with, and the unpack checks still apply to everything unpacked."""

from __future__ import annotations

import os
import stat
import time
import zipfile
from pathlib import Path

import pytest
from emulator_helpers import write_zip

from uv_lambda.emulator.unpack_cache import UNUSED_SECONDS, finish_background_work, slot_of, unpack
from uv_lambda.errors import UsageError

FILES: dict[str, str | bytes] = {"app/__init__.py": "", "app/main.py": "X = 1\n", "lib/big.py": "Y = 2\n"}


def _generations(code: Path, layers: tuple[Path, ...] = ()) -> list[str]:
    finish_background_work()
    slot = slot_of(code, layers)
    return sorted(p.name for p in slot.iterdir() if p.is_dir() and p.name.startswith("g"))


def test_the_same_entries_reuse_the_tree(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    first = unpack(code)
    first.remove()
    second = unpack(code)
    try:
        assert second.root == first.root
        assert (second.task_root / "app" / "main.py").read_text() == "X = 1\n"
        assert _generations(code) == [first.root.name]
    finally:
        second.remove()


def test_an_edit_makes_a_new_tree_of_links_and_the_edited_file(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    old = unpack(code)
    write_zip(code, {**FILES, "app/main.py": "X = 2\n", "app/new.py": "Z = 3\n"})
    new = unpack(code)
    try:
        assert new.root != old.root
        # The run that started on the old tree keeps its files; the new one sees the edit.
        assert (old.task_root / "app" / "main.py").read_text() == "X = 1\n"
        assert (new.task_root / "app" / "main.py").read_text() == "X = 2\n"
        assert (new.task_root / "app" / "new.py").read_text() == "Z = 3\n"
        unchanged_old, unchanged_new = old.task_root / "lib" / "big.py", new.task_root / "lib" / "big.py"
        assert os.stat(unchanged_old).st_ino == os.stat(unchanged_new).st_ino  # a hard link
        assert os.stat(old.task_root / "app" / "main.py").st_ino != os.stat(new.task_root / "app" / "main.py").st_ino
        assert sorted(_generations(code)) == sorted([old.root.name, new.root.name])  # old still leased
    finally:
        old.remove()
        new.remove()
    # Nobody holds the old tree any more: the next run removes it.
    unpack(code).remove()
    assert _generations(code) == [new.root.name]


def test_an_edit_is_applied_to_the_draft_the_previous_run_linked(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    first = unpack(code)
    first.remove()
    finish_background_work()
    draft = slot_of(code, ()) / ".draft"
    assert (draft / "base").read_text() == first.root.name
    big_in_draft = os.stat(draft / "task" / "lib" / "big.py").st_ino
    write_zip(code, {name: data for name, data in FILES.items() if name != "app/__init__.py"} | {"app/main.py": "2"})
    second = unpack(code)
    try:
        assert os.stat(second.task_root / "lib" / "big.py").st_ino == big_in_draft  # the draft became it
        assert (second.task_root / "app" / "main.py").read_text() == "2"
        assert not (second.task_root / "app" / "__init__.py").exists()
        finish_background_work()
        assert (draft / "base").read_text() == second.root.name  # the next draft, of the new tree
        assert _generations(code) == [second.root.name]
    finally:
        second.remove()


def test_a_removed_entry_is_gone_from_the_new_tree(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    unpack(code).remove()
    write_zip(code, {name: data for name, data in FILES.items() if name != "lib/big.py"})
    layout = unpack(code)
    try:
        assert not (layout.task_root / "lib" / "big.py").exists()
    finally:
        layout.remove()


def test_files_are_read_only_and_a_changed_file_is_unpacked_again(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    layout = unpack(code)
    main = layout.task_root / "app" / "main.py"
    assert not os.stat(main).st_mode & stat.S_IWUSR
    layout.remove()
    # Written anyway (as root can): the next run does not use the changed copy.
    os.chmod(main, 0o644)
    main.write_text("X = 'tampered'\n")
    again = unpack(code)
    try:
        assert (again.task_root / "app" / "main.py").read_text() == "X = 1\n"
    finally:
        again.remove()


@pytest.mark.parametrize("draft", [True, False])
def test_a_file_written_in_place_at_its_size_or_a_folder_replaced_is_unpacked_again(
    tmp_path: Path, draft: bool
) -> None:
    """The integrity check stats every file, each in its folder: a deep file rewritten with
    the same size (its mtime moves) and a folder swapped for another by hand are both seen."""
    files: dict[str, str | bytes] = {**FILES, "app/deep/er/mod.py": "Z = 3\n", "app/deep/er/other.py": "W = 4\n"}
    code = write_zip(tmp_path / "function.zip", files)
    first = unpack(code, draft=draft)
    first.remove()
    finish_background_work()
    deep = first.task_root / "app" / "deep" / "er"
    os.chmod(deep / "mod.py", 0o644)
    time.sleep(0.01)  # a later mtime than the one written
    (deep / "mod.py").write_text("Z = 9\n")
    lib = first.task_root / "lib"
    os.rename(lib, first.task_root / "lib-moved")
    lib.mkdir()
    (lib / "big.py").write_text("Y = 9\n")
    again = unpack(code, draft=draft)
    try:
        assert (again.task_root / "app" / "deep" / "er" / "mod.py").read_text() == "Z = 3\n"
        assert (again.task_root / "app" / "deep" / "er" / "other.py").read_text() == "W = 4\n"
        assert (again.task_root / "lib" / "big.py").read_text() == "Y = 2\n"
    finally:
        again.remove()


def test_a_file_added_to_the_tree_is_not_kept(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    layout = unpack(code)
    folder = layout.task_root / "app"
    (folder / "stray.py").write_text("")
    layout.remove()
    again = unpack(code)
    try:
        assert not (again.task_root / "app" / "stray.py").exists()
    finally:
        again.remove()


def test_layers_in_order_and_executables(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    first = write_zip(tmp_path / "one.zip", {"python/shared.py": "A = 1\n"})
    second = tmp_path / "two.zip"
    with zipfile.ZipFile(second, "w") as bundle:
        bundle.writestr("python/shared.py", "A = 2\n")
        tool = zipfile.ZipInfo("bin/tool")
        tool.external_attr = 0o755 << 16
        bundle.writestr(tool, "#!/bin/sh\n")
    layout = unpack(code, [first, second])
    try:
        assert (layout.opt / "python" / "shared.py").read_text() == "A = 2\n"  # a later layer wins
        assert os.stat(layout.opt / "bin" / "tool").st_mode & stat.S_IXUSR
    finally:
        layout.remove()


def test_the_unpack_checks_apply(tmp_path: Path) -> None:
    slip = write_zip(tmp_path / "slip.zip", {"../../outside.py": "X = 1\n"})
    layout = unpack(slip)
    try:
        assert (layout.task_root / "outside.py").is_file()  # kept inside, as zipfile.extract does
        assert not (layout.root.parent / "outside.py").exists()
    finally:
        layout.remove()
    clash = write_zip(tmp_path / "clash.zip", {"a": "file", "a/b": "under a file"})
    with pytest.raises(UsageError, match="which is a file"):
        unpack(clash)
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(UsageError, match="not a valid zip file"):
        unpack(corrupt)


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_folders_added_and_removed_through_the_draft(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    unpack(code).remove()
    finish_background_work()
    changed: dict[str, str | bytes] = {"app/__init__.py": "", "app/main.py": "X = 1\n", "lib": "now a file\n"}
    write_zip(code, {**changed, "new/deep/x.py": "N = 1\n", "empty/folder/": ""})
    layout = unpack(code)
    try:
        files = {**changed, "new/deep/x.py": "N = 1\n"}
        assert _tree(layout.task_root) == files  # exactly what a fresh unpack holds
        assert (layout.task_root / "empty" / "folder").is_dir()
    finally:
        layout.remove()
    finish_background_work()
    again = unpack(code)  # nothing changed since: the same tree, as it is
    try:
        assert again.root == layout.root
    finally:
        again.remove()


def test_a_corrupt_edit_leaves_the_current_tree_as_it_was(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    first = unpack(code)
    first.remove()
    finish_background_work()
    write_zip(code, {**FILES, "app/main.py": "X = 'edited'\n"})
    data = code.read_bytes()
    code.write_bytes(data.replace(b"X = 'edited'", b"X = 'edite?'"))  # stored: the CRC no longer fits
    with pytest.raises(UsageError, match=r"bad CRC for app/main\.py"):
        unpack(code)
    slot = slot_of(code, ())
    assert not [p for p in slot.iterdir() if p.name.startswith(".scratch-")]
    write_zip(code, FILES)
    again = unpack(code)
    try:
        assert again.root == first.root and (again.task_root / "app" / "main.py").read_text() == "X = 1\n"
    finally:
        again.remove()


def test_a_slot_not_run_for_two_weeks_is_removed(tmp_path: Path) -> None:
    old = write_zip(tmp_path / "old.zip", FILES)
    unpack(old).remove()
    stale = slot_of(old, ())
    weeks_ago = time.time() - UNUSED_SECONDS - 60
    os.utime(stale / "lock", (weeks_ago, weeks_ago))
    held = write_zip(tmp_path / "held.zip", FILES)
    in_use = unpack(held)  # leased: kept however old
    os.utime(slot_of(held, ()) / "lock", (weeks_ago, weeks_ago))
    try:
        unpack(write_zip(tmp_path / "new.zip", FILES)).remove()
        finish_background_work()
        assert not stale.exists()
        assert slot_of(held, ()).exists()
    finally:
        in_use.remove()


def test_a_one_shot_run_leaves_no_draft_and_the_next_run_updates_its_tree_in_place(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    first = unpack(code, draft=False)
    big, tree = os.stat(first.task_root / "lib" / "big.py").st_ino, os.stat(first.root).st_ino
    first.remove()
    finish_background_work()
    assert not (slot_of(code, ()) / ".draft").exists()
    write_zip(code, {name: data for name, data in FILES.items() if name != "app/__init__.py"} | {"app/main.py": "2"})
    second = unpack(code, draft=False)
    try:
        assert second.root != first.root and not first.root.exists()  # renamed: nobody held it
        assert os.stat(second.root).st_ino == tree  # the same folder, updated: nothing linked
        assert os.stat(second.task_root / "lib" / "big.py").st_ino == big
        assert _tree(second.task_root) == {"app/main.py": "2", "lib/big.py": "Y = 2\n"}
        assert _generations(code) == [second.root.name]
    finally:
        second.remove()
    again = unpack(code)  # nothing changed since: the same tree, as it is
    try:
        assert again.root == second.root
    finally:
        again.remove()


def test_a_held_tree_is_not_updated_in_place(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    held = unpack(code, draft=False)
    write_zip(code, {**FILES, "app/main.py": "X = 2\n"})
    new = unpack(code, draft=False)
    try:
        assert (held.task_root / "app" / "main.py").read_text() == "X = 1\n"  # the running tree as it was
        assert (new.task_root / "app" / "main.py").read_text() == "X = 2\n"
        assert os.stat(held.task_root / "lib" / "big.py").st_ino == os.stat(new.task_root / "lib" / "big.py").st_ino
    finally:
        held.remove()
        new.remove()


def test_a_tree_with_a_stray_or_tampered_file_is_corrected_when_updated_in_place(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    first = unpack(code, draft=False)
    first.remove()
    main = first.task_root / "app" / "main.py"
    os.chmod(main, 0o644)
    main.write_text("X = 'tampered'\n")
    (first.task_root / "lib" / "big.py").unlink()
    write_zip(code, {**FILES, "app/__init__.py": "# edited\n"})
    second = unpack(code, draft=False)
    try:
        assert _tree(second.task_root) == {**FILES, "app/__init__.py": "# edited\n"}
    finally:
        second.remove()


def test_a_corrupt_edit_leaves_an_unheld_tree_as_it_was(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "function.zip", FILES)
    first = unpack(code, draft=False)
    first.remove()
    finish_background_work()
    write_zip(code, {**FILES, "app/main.py": "X = 'edited'\n"})
    code.write_bytes(code.read_bytes().replace(b"X = 'edited'", b"X = 'edite?'"))
    with pytest.raises(UsageError, match=r"bad CRC for app/main\.py"):
        unpack(code, draft=False)
    assert (first.task_root / "app" / "main.py").read_text() == "X = 1\n"
    write_zip(code, FILES)
    again = unpack(code, draft=False)
    try:
        assert again.root == first.root
    finally:
        again.remove()
