"""The file selection (bundle/stage/sources.py) on real folders: what is chosen, what a link may
reach, what is left out and why. The builds that use it are tested in
test_build_incremental*.py and tests/bundle/adversarial/test_build_selection.py."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import pytest

from uv_lambda.bundle.stage import sources
from uv_lambda.errors import ConfigError, VerificationError


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _tree(
        tmp_path / "project",
        {"app/__init__.py": "", "app/main.py": "def handler(e, c): pass\n", "app/sub/x.py": "X = 1\n"},
    )


def _select(root: Path, **rules: object) -> sources.Selection:
    return sources.select_application_files(sources.Rules(str(root), **rules))  # type: ignore[arg-type]


def test_secret_patterns_match_as_fnmatch_does() -> None:
    names = [".env", ".env.prod", "a.pem", "x.key", "id_rsa", "id_rsa.pub", "credentials", "env", "a.pem.txt"]
    names += ["key", "my.keys", ".netrc", "x.p12", "id_ed25519", "cred"]
    for name in names:
        expected = any(fnmatch.fnmatch(name, pattern) for pattern in sources.SECRET_PATTERNS)
        assert sources.secret_name(name) == expected, name


def test_default_selection(project: Path) -> None:
    (project / "tests").mkdir()
    (project / "tests" / "__init__.py").write_text("")
    (project / "app" / "__pycache__").mkdir()
    (project / "app" / "__pycache__" / "main.cpython-313.pyc").write_text("")
    (project / "app" / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(project / "app" / "run.sh", 0o700)
    selection = _select(project)
    assert selection.names() == ["app/__init__.py", "app/main.py", "app/run.sh", "app/sub/x.py"]
    assert {c.name: c.mode for c in selection.files}["app/run.sh"] == 0o755
    assert selection.left_out == []


def test_a_link_inside_the_project_ships_its_target_under_its_name(project: Path) -> None:
    (project / "shared").mkdir()
    (project / "shared" / "data.json").write_text("{}")
    os.symlink("../shared/data.json", project / "app" / "data.json")
    os.symlink("../shared", project / "app" / "linked")
    selection = _select(project)
    assert "app/data.json" in selection.names() and "app/linked/data.json" in selection.names()
    assert selection.left_out == []


def test_a_link_out_of_the_project_is_left_out_with_its_target_named(project: Path, tmp_path: Path) -> None:
    outside = _tree(tmp_path / "outside", {"passwd": "root:x:0:0\n", "lib/__init__.py": "", "lib/x.py": ""})
    os.symlink(outside / "passwd", project / "app" / "config.py")
    os.symlink(outside / "lib", project / "app" / "vendored")
    os.symlink(outside / "lib", project / "lib")  # a top-level package: the default picks it
    selection = _select(project)
    assert not [name for name in selection.names() if "config" in name or "vendored" in name or "lib" in name]
    why = dict(selection.left_out)
    assert why["app/config.py"] == f"app/config.py is a link to {outside / 'passwd'}, outside the project"
    assert why["app/vendored"] == f"app/vendored is a link to {outside / 'lib'}, outside the project"
    assert why["lib"] == f"lib is a link to {outside / 'lib'}, outside the project"
    with pytest.raises(ConfigError, match=r"app/config.py: app/config.py is a link to .*passwd, outside"):
        _select(project, strict=True)


def test_a_folder_linked_out_of_the_project_is_named_when_a_glob_reaches_through_it(
    project: Path, tmp_path: Path
) -> None:
    outside = _tree(tmp_path / "outside", {"x.py": ""})
    os.symlink(outside, project / "app" / "out")
    selection = _select(project, includes=["app/*/*.py"])
    assert selection.names() == ["app/sub/x.py"]
    assert selection.left_out == [("app/out/x.py", f"app/out is a link to {outside / 'x.py'}, outside the project")]


def test_a_link_to_a_secret_is_left_out_whatever_its_name(project: Path) -> None:
    (project / ".env").write_text("TOKEN=1\n")
    (project / ".aws").mkdir()
    (project / ".aws" / "config").write_text("[default]\n")
    os.symlink("../.env", project / "app" / "settings.py")
    os.symlink("../.aws/config", project / "app" / "config.ini")
    (project / "app" / "server.pem").write_text("-----BEGIN\n")
    selection = _select(project)
    assert selection.names() == ["app/__init__.py", "app/main.py", "app/sub/x.py"]
    assert dict(selection.left_out) == {
        "app/config.ini": "app/config.ini is a link to .aws/config, which looks like a secret",
        "app/server.pem": "it looks like a secret",
        "app/settings.py": "app/settings.py is a link to .env, which looks like a secret",
    }
    with pytest.raises(ConfigError, match="strict = true"):
        _select(project, strict=True)


def test_a_link_into_a_folder_that_never_ships_is_left_out(project: Path) -> None:
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text('[remote "origin"]\nurl = https://token@example.com/x\n')
    os.symlink("../.git/config", project / "app" / "git.cfg")
    selection = _select(project)
    assert "app/git.cfg" not in selection.names()
    assert dict(selection.left_out) == {
        "app/git.cfg": "app/git.cfg is a link into .git/ (.git/config), which is never shipped"
    }


def test_output_folders_are_never_inputs(project: Path) -> None:
    (project / "app" / "out").mkdir()
    (project / "app" / "out" / "function.zip").write_text("PK")
    assert "app/out/function.zip" in _select(project).names()
    assert "app/out/function.zip" not in _select(project, never_inputs=[str(project / "app" / "out")]).names()
    # Through a link to the output folder too.
    os.symlink("out", project / "app" / "again")
    assert _select(project, never_inputs=[str(project / "app" / "out")]).names() == [
        "app/__init__.py",
        "app/main.py",
        "app/sub/x.py",
    ]


def test_a_link_cycle_ends(project: Path) -> None:
    os.symlink("..", project / "app" / "sub" / "up")
    os.symlink(".", project / "app" / "here")
    names = _select(project).names()
    assert names == ["app/__init__.py", "app/main.py", "app/sub/x.py"]


def test_the_whole_folder(project: Path) -> None:
    (project / "pyproject.toml").write_text("")
    (project / ".venv" / "lib").mkdir(parents=True)
    (project / ".venv" / "lib" / "x.py").write_text("")
    (project / "dist").mkdir()
    (project / "dist" / "function.zip").write_text("")
    expected = ["app/__init__.py", "app/main.py", "app/sub/x.py", "pyproject.toml"]
    for pattern in (".", "./", "*"):
        assert _select(project, includes=[pattern], never_inputs=[str(project / "dist")]).names() == expected


def test_dangling_links_and_excludes(project: Path) -> None:
    os.symlink("missing.py", project / "app" / "gone.py")
    (project / "app" / "sub" / "big.bin").write_text("x")
    assert _select(project, excludes=["app/sub"]).names() == ["app/__init__.py", "app/main.py"]
    assert _select(project, excludes=["*.bin"]).names() == ["app/__init__.py", "app/main.py", "app/sub/x.py"]


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("../../x", "leaves the project"),
        ("app/../../x", "leaves the project"),
        ("/etc/passwd", "is absolute"),
        ("~/.aws", "is absolute"),
        ("C:/Users", "is absolute"),
        ("", "an empty pattern"),
    ],
)
def test_patterns_that_leave_the_project(pattern: str, reason: str) -> None:
    found = sources.check_pattern(pattern)
    assert found is not None and reason in found
    for fine in ("app/**/*.py", "..data", "a:b", ".", "./app"):
        assert sources.check_pattern(fine) is None, fine


def test_size_checks_name_the_largest_items(project: Path) -> None:
    big = project / "app" / "big.bin"
    with big.open("wb") as handle:
        handle.truncate(sources.UNZIPPED_LIMIT - 30)  # sparse: nothing is written; 30 bytes of code beside it
    selection = _select(project)
    sources.check_selection(selection, installed_size=0, packages=[], ships_application=True)  # at the limit
    with pytest.raises(VerificationError, match=r"250 MB limit \(largest: app/big.bin 262.1 MB, six 1.0 KB, app/main"):
        sources.check_selection(selection, installed_size=1024, packages=[("six", 1024)], ships_application=True)
    sources.check_selection(selection, installed_size=1024, packages=[], ships_application=False)  # a layer
    assert sources.upload_warning("function.zip", sources.ZIP_UPLOAD_LIMIT) is None
    assert "through S3" in (sources.upload_warning("function.zip", sources.ZIP_UPLOAD_LIMIT + 1) or "")


def test_rules_of_another_version_are_refused_not_ignored(tmp_path: Path) -> None:
    """A build record's rules round-trip; one this version does not know (a newer record's)
    makes the record unusable (record_file.py falls back to a full build), never ignored."""
    rules = sources.Rules(str(tmp_path), includes=["app"], excludes=["app/tests"], strict=True)
    assert sources.Rules.from_json(rules.as_json()).as_json() == rules.as_json()
    with pytest.raises(TypeError, match="newer"):
        sources.Rules.from_json({**rules.as_json(), "newer": True})
