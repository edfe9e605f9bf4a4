"""The cached runtime folder (`/var/runtime`: awslambdaric, boto3) is untrusted too: a file
a function changed or a damaged one is noticed on the next run, which installs the folder
again; and the folder holds copies, so no such change reaches uv's cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.support.local_run import HANDLER, ZIP_ARGS, assert_no_scratch, run, write_zip

from uv_lambda.cache import cache_root
from uv_lambda.emulator.runtime_folder import folder_name, host_machine

pytestmark = pytest.mark.slow


def _runtime_folders() -> list[Path]:
    return sorted(path for path in (cache_root() / "runtimes").iterdir() if not path.name.startswith("."))


def _invoke(tmp_path: Path, code: Path) -> None:
    tmp_path.mkdir(parents=True, exist_ok=True)
    event = tmp_path / "event.json"
    event.write_text('{"n": 1}')
    result = run("invoke", "--artifact", code, *ZIP_ARGS, "--event", event, tmp=tmp_path / "tmp")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout) == {"ok": {"n": 1}}
    assert_no_scratch(result.tmp)


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "code.zip", [("app.py", HANDLER)])


def _awslambdaric(folder: Path) -> Path:
    return folder / "awslambdaric" / "bootstrap.py"


@pytest.mark.parametrize("damage", ["append", "add-file"])
def test_a_changed_runtime_folder_is_installed_again(tmp_path: Path, code: Path, damage: str) -> None:
    _invoke(tmp_path / "first", code)
    # The folder this invoke uses (python3.13, this machine, boto3 at the runtime's version).
    folder = cache_root() / "runtimes" / folder_name("3.13", host_machine(), with_boto3=True)
    target = _awslambdaric(folder)
    original = target.read_bytes()
    if damage == "append":  # what a function that writes into /var/runtime could do
        with target.open("ab") as handle:
            handle.write(b"\nraise SystemExit('poisoned')\n")
    else:
        (folder / "awslambdaric" / "sitecustomize_evil.py").write_text("x = 1\n")

    _invoke(tmp_path / "second", code)

    assert _awslambdaric(folder).read_bytes() == original
    assert not (folder / "awslambdaric" / "sitecustomize_evil.py").exists()
    assert not [path for path in (cache_root() / "runtimes").iterdir() if path.name.startswith(".runtime-")]


def test_runtime_files_are_copies_not_links_into_uvs_cache(tmp_path: Path, code: Path) -> None:
    _invoke(tmp_path, code)
    for folder in _runtime_folders():
        linked = [
            os.path.join(parent, name)
            for parent, _, names in os.walk(folder)
            for name in names
            if os.lstat(os.path.join(parent, name)).st_nlink > 1
        ]
        assert linked == [], f"hard links in {folder}: {linked[:5]}"
