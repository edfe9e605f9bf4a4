"""`--format dir` / `layer-dir` and the real `sam build` (aws-sam-cli from PyPI) driving it
through SAM's makefile builder; a prebuilt zip as CodeUri is left to SAM as it is."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
from tests.iac.iac_tools import installed
from tests.support.projects import ORDERS_HANDLER as HANDLER
from tests.support.projects import ORDERS_PYPROJECT as PYPROJECT
from tests.support.projects import CliRunner, write_project

pytestmark = pytest.mark.slow

ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: app.main.handler
      Runtime: python3.13
    Metadata:
      BuildMethod: makefile
  Deps:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: .
      CompatibleRuntimes: [python3.13]
    Metadata:
      BuildMethod: makefile
  Prebuilt:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: prebuilt/function.zip
      Handler: app.main.handler
      Runtime: python3.13
"""
MAKEFILE = """\
build-Api:
\tuv-lambda build --format dir --out "$(ARTIFACTS_DIR)"

build-Deps:
\tuv-lambda build --format layer-dir --out "$(ARTIFACTS_DIR)"
"""


def tree_of(folder: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """name -> (mode, mtime, contents; None for a folder), with zip-style names."""
    found: dict[str, tuple[int, int, bytes | None]] = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        name = path.relative_to(folder).as_posix()
        if path.is_dir():
            found[name + "/"] = (stat.S_IMODE(info.st_mode), int(info.st_mtime), None)
        else:
            found[name] = (stat.S_IMODE(info.st_mode), int(info.st_mtime), path.read_bytes())
    return found


def zip_as_tree(archive: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """The same view of a zip: every entry with its mode, the zip's date and its bytes."""
    with zipfile.ZipFile(archive) as handle:
        return {
            info.filename: (
                stat.S_IMODE(info.external_attr >> 16),
                ZIP_EPOCH,
                None if info.is_dir() else handle.read(info),
            )
            for info in handle.infolist()
        }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("sam") / "orders", PYPROJECT, {"app/__init__.py": "", "app/main.py": HANDLER}
    )


def test_dir_format_is_the_zip_unpacked_and_nothing_else(cli: CliRunner, project: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "stale").mkdir(parents=True)  # a previous build's leftovers go
    (tree / "stale" / "old.py").write_text("")
    metadata = tmp_path / "meta" / "orders.json"
    result = cli("build", project, "--format", "dir", "--out", tree, "--metadata", metadata)
    assert result.returncode == 0, result.stderr
    archive = project / "dist" / "lambda" / "orders" / "function.zip"
    expected = zip_as_tree(archive)
    assert "app/__pycache__/main.cpython-313.pyc" in expected and "six.py" in expected
    assert tree_of(tree) == expected
    assert os.stat(tree).st_mtime == ZIP_EPOCH
    [document] = json.loads(metadata.read_text())["artifacts"]
    assert document["directory"] == str(tree) and document["path"] == str(archive)
    assert document["code_sha256"] == json.loads(archive.with_name("function.zip.json").read_text())["code_sha256"]


def test_dir_format_takes_the_app_only_rebuild(cli: CliRunner, project: Path, tmp_path: Path) -> None:
    copy = tmp_path / "orders"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("dist"))
    tree = tmp_path / "tree"
    archive = copy / "dist" / "lambda" / "orders" / "function.zip"
    assert cli("build", copy, "--format", "dir", "--out", tree).returncode == 0
    shutil.rmtree(tree)  # a tool emptied its folder: the tree comes back though nothing changed
    again = cli("build", copy, "--format", "dir", "--out", tree)
    assert again.returncode == 0 and "is up to date" in again.stderr, again.stderr
    assert tree_of(tree) == zip_as_tree(archive)
    (copy / "app" / "main.py").write_text(HANDLER.replace("'six'", "'version'"))
    edited = cli("build", copy, "--format", "dir", "--out", tree)
    assert edited.returncode == 0 and "app/main.py changed, the rest reused" in edited.stderr, edited.stderr
    assert f"{tree}  11 files unpacked from function.zip" in edited.stderr
    assert b"'version'" in (tree / "app" / "main.py").read_bytes()
    assert tree_of(tree) == zip_as_tree(archive)


def test_dir_format_refuses_to_replace_the_project(cli: CliRunner, project: Path) -> None:
    result = cli("build", project, "--format", "dir", "--out", project)
    assert result.returncode == 2 and "holds the project" in result.stderr
    assert (project / "pyproject.toml").is_file()
    missing = cli("build", project, "--format", "layer-dir")
    assert missing.returncode == 2 and "needs --out DIR" in missing.stderr


@pytest.fixture(scope="module")
def sam(project: Path) -> Path:
    return installed("aws-sam-cli", ["aws-sam-cli>=1.120"]) / "bin" / "sam"


def test_sam_build_runs_the_makefile_targets_and_skips_a_prebuilt_zip(
    cli: CliRunner, project: Path, sam: Path, tmp_path: Path
) -> None:
    # What `sam build` should produce, built by uv-lambda from the same sources elsewhere.
    for fmt in ("zip", "layer"):
        result = cli("build", project, "--format", fmt, "--out", tmp_path / fmt)
        assert result.returncode == 0, result.stderr
    prebuilt = project / "prebuilt" / "function.zip"
    prebuilt.parent.mkdir(exist_ok=True)
    prebuilt.write_bytes((tmp_path / "zip" / "function.zip").read_bytes())
    prebuilt_sha = hashlib.sha256(prebuilt.read_bytes()).hexdigest()
    (project / "template.yaml").write_text(TEMPLATE)
    (project / "Makefile").write_text(MAKEFILE)

    # PATH (set by conftest) starts with this environment's bin, where `uv-lambda` is.
    completed = subprocess.run(
        [str(sam), "build"],
        cwd=project,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    built = project / ".aws-sam" / "build"
    assert tree_of(built / "Api") == zip_as_tree(tmp_path / "zip" / "function.zip")
    layer = tree_of(built / "Deps")
    assert layer == zip_as_tree(tmp_path / "layer" / "layer.zip")
    assert "python/lib/python3.13/site-packages/six.py" in layer

    # The prebuilt zip: not built, not copied, not changed; the built template points at it.
    assert not (built / "Prebuilt").exists()
    assert hashlib.sha256(prebuilt.read_bytes()).hexdigest() == prebuilt_sha
    template = (built / "template.yaml").read_text()
    assert "CodeUri: ../../prebuilt/function.zip" in template
    assert (built / "../../prebuilt/function.zip").resolve() == prebuilt


@pytest.mark.parametrize("rename_fails", [False, True])
def test_unpack_replaces_a_folder_it_cannot_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rename_fails: bool
) -> None:
    """A mount point (SAM in a container, a CI volume) cannot be renamed: it is emptied instead."""
    from uv_lambda.bundle import archive, tree

    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "mod.py").write_text("X = 1\n")
    (tmp_path / "src" / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(tmp_path / "src" / "run.sh", 0o700)
    sources = [
        archive.SourceFile(p.relative_to(tmp_path / "src").as_posix(), p) for p in (tmp_path / "src").rglob("*.*")
    ]
    packed = tmp_path / "a.zip"
    archive.write_archive(packed, archive.compress_files(sources, tmp_path / "scratch.bin"))
    destination = tmp_path / "out"
    (destination / "old").mkdir(parents=True)
    (destination / "old" / "stale.txt").write_text("")
    if rename_fails:
        real_rename = Path.rename

        def rename(self: Path, target: str | os.PathLike[str]) -> Path:
            if self == destination:
                raise OSError(16, "Device or resource busy")
            return real_rename(self, target)

        monkeypatch.setattr(Path, "rename", rename)
    assert tree.unpack(packed, destination) == 2
    assert tree_of(destination) == zip_as_tree(packed)
    assert stat.S_IMODE((destination / "run.sh").stat().st_mode) == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "out", "scratch.bin", "src"]  # no staging left
