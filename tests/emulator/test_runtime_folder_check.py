"""The runtime folder's check on every local run (emulator/runtime_folder.py): after one full
listing it stats the listed files and the folders' mtimes, reads no folder, and still finds
every change the listing finds."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from uv_lambda import sealed
from uv_lambda.cache import tree_listing
from uv_lambda.emulator import runtime_folder
from uv_lambda.emulator.runtime_folder import runtime_folder_intact

FILES = {"six.py": "x = 1\n", "awslambdaric/__init__.py": "", "awslambdaric/bootstrap.py": "y = 2\n"}
FILES["awslambdaric/__pycache__/bootstrap.cpython-313.pyc"] = "compiled"
FILES["botocore/data/s3/2006-03-01/service-2.json"] = "{}"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A runtime folder as ensure_runtime_folder leaves it: its files, then the sealed listing."""
    target = tmp_path / "runtimes" / "python3.13-x86_64-0123456789ab"
    for name, text in FILES.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_text(text)
    listing = {"requirements": [], "files": tree_listing(target)}
    sealed.write(target / runtime_folder._COMPLETE_MARKER, listing)
    return target


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The full listings the check makes (the real tree_listing, counted)."""
    made: list[str] = []
    real = runtime_folder.tree_listing

    def counted(folder: Any, *args: Any, **kwargs: Any) -> list[list[object]]:
        made.append(str(folder))
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(runtime_folder, "tree_listing", counted)
    return made


def test_after_one_listing_the_check_reads_no_folder(folder: Path, listings: list[str]) -> None:
    assert runtime_folder_intact(folder) and len(listings) == 1
    assert folder.with_name(f"{folder.name}.folders").is_file()  # beside it: never in its listing
    assert runtime_folder_intact(folder) and runtime_folder_intact(folder)
    assert len(listings) == 1


CHANGES: dict[str, Callable[[Path], None]] = {
    "written in place at its size": lambda f: (
        os.chmod(f / "six.py", 0o644),
        time.sleep(0.01),
        (f / "six.py").write_text("x = 9\n"),
    ),
    "a file added deep down": lambda f: (f / "botocore" / "data" / "s3" / "2006-03-01" / "extra.json").write_text(""),
    "a folder of files added": lambda f: (
        (f / "awslambdaric" / "new").mkdir(),
        (f / "awslambdaric" / "new" / "mod.py").write_text(""),
    ),
    "a file removed": lambda f: (f / "awslambdaric" / "__init__.py").unlink(),
    "a file replaced by a rename": lambda f: (
        (f / "other").write_text("y = 2\n"),
        os.replace(f / "other", f / "awslambdaric" / "bootstrap.py"),
    ),
    "a file turned into a folder": lambda f: (
        (f / "six.py").unlink(),
        (f / "six.py").mkdir(),
    ),
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_every_change_the_listing_sees_is_seen_without_it(folder: Path, listings: list[str], change: str) -> None:
    assert runtime_folder_intact(folder)  # the folders' mtimes are kept
    time.sleep(0.01)
    CHANGES[change](folder)
    assert (
        tree_listing(folder, skip=runtime_folder._COMPLETE_MARKER)
        != sealed.read(folder / runtime_folder._COMPLETE_MARKER)["files"]
    ), "the change must be one the full listing sees"
    assert not runtime_folder_intact(folder)


def test_the_mtimes_kept_for_another_install_are_not_used(folder: Path, listings: list[str]) -> None:
    assert runtime_folder_intact(folder)
    # Installed again (a new marker): the kept mtimes are another folder's, and a stray file
    # added before them would not show in them.
    (folder / "stray.py").write_text("")
    listing = {"requirements": [], "files": tree_listing(folder, skip=runtime_folder._COMPLETE_MARKER)}
    marker = folder / runtime_folder._COMPLETE_MARKER
    marker.unlink()
    sealed.write(marker, listing)
    assert runtime_folder_intact(folder) and len(listings) == 2
    assert runtime_folder_intact(folder) and len(listings) == 2


def test_a_change_the_listing_does_not_see_makes_it_list_again(folder: Path, listings: list[str]) -> None:
    """Any folder's mtime moved means the check lists the folder again and the listing
    decides: an empty folder added is no change to it."""
    assert runtime_folder_intact(folder) and len(listings) == 1
    time.sleep(0.01)
    (folder / "awslambdaric" / "empty").mkdir()
    assert runtime_folder_intact(folder) and len(listings) == 2
    assert runtime_folder_intact(folder) and len(listings) == 2  # its mtimes are kept again
