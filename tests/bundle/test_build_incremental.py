"""App-only rebuilds (bundle/rebuild/incremental.py): same bytes as a full build, and the full
pipeline whenever anything but the application files changed. The randomised sequences of
edits are in test_build_incremental_random.py."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from tests.bundle.build_helpers import ORDERS_PYPROJECT as PYPROJECT
from tests.bundle.build_helpers import artifact, names
from tests.conftest import CliRunner, write_project

from uv_lambda.bundle.rebuild.incremental import record_path

pytestmark = pytest.mark.slow

HANDLER = "import six\n\ndef handler(event, context):\n    return {'six': six.__version__}\n"
FAST = "the rest reused"
FULL = "building orders ("


@pytest.fixture
def project(tmp_path: Path, cli: CliRunner) -> Path:
    root = write_project(
        tmp_path / "orders",
        PYPROJECT,
        {"app/__init__.py": "", "app/main.py": HANDLER, "app/util.py": "X = 1\n"},
    )
    first = cli("build", root)
    assert first.returncode == 0 and FULL in first.stderr, first.stderr
    return root


def _full_build_bytes(cli: CliRunner, project: Path, tmp_path: Path, *args: str) -> dict[str, bytes]:
    """What a build from scratch (no record, no previous artifact) writes for the same sources."""
    fresh = tmp_path / "fresh"
    shutil.copytree(project, fresh, ignore=shutil.ignore_patterns("dist"))
    result = cli("build", fresh, *args, "--out", project.parent / "fresh-out")
    assert result.returncode == 0 and FULL in result.stderr, result.stderr
    out = project.parent / "fresh-out"
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix == ".zip"}


def test_app_edit_rebuilds_only_the_app_and_matches_a_full_build(cli: CliRunner, project: Path, tmp_path: Path) -> None:
    (project / "app" / "main.py").write_text(HANDLER.replace("'six'", "'version'"))
    result = cli("build", project)
    assert result.returncode == 0, result.stderr
    assert "app/main.py changed, the rest reused" in result.stderr
    zip_path = artifact(project)
    assert "app/__pycache__/main.cpython-313.pyc" in names(zip_path) and "six.py" in names(zip_path)
    # The same bytes and the same metadata as a build from scratch of the edited project.
    fresh = _full_build_bytes(cli, project, tmp_path)
    assert zip_path.read_bytes() == fresh["function.zip"]
    fresh_meta = json.loads((project.parent / "fresh-out" / "function.zip.json").read_text())
    assert json.loads(zip_path.with_name("function.zip.json").read_text()) == fresh_meta


def test_json_output_of_a_rebuild(cli: CliRunner, project: Path) -> None:
    assert cli("build", project, "--json").returncode == 0  # records this command line
    (project / "app" / "util.py").write_text("X = 3\n")
    result = cli("build", project, "--json")
    assert result.returncode == 0 and result.stderr == ""
    zip_path = artifact(project)
    [document] = json.loads(result.stdout)["artifacts"]
    assert document == {"path": str(zip_path), **json.loads(zip_path.with_name("function.zip.json").read_text())}


def test_nothing_changed_writes_nothing(cli: CliRunner, project: Path) -> None:
    zip_path = artifact(project)
    before = zip_path.stat().st_mtime_ns
    result = cli("build", project)
    assert result.returncode == 0 and "orders (zip) is up to date" in result.stderr
    assert zip_path.stat().st_mtime_ns == before


def test_split_format_leaves_the_layer_alone(cli: CliRunner, project: Path, tmp_path: Path) -> None:
    assert cli("build", project, "--format", "split").returncode == 0
    layer = project / "dist" / "lambda" / "orders" / "layer.zip"
    layer_mtime = layer.stat().st_mtime_ns
    (project / "app" / "util.py").write_text("X = 2\n")
    result = cli("build", project, "--format", "split")
    assert result.returncode == 0 and "app/util.py changed" in result.stderr, result.stderr
    assert layer.stat().st_mtime_ns == layer_mtime
    fresh = _full_build_bytes(cli, project, tmp_path, "--format", "split")
    assert (project / "dist" / "lambda" / "orders" / "app.zip").read_bytes() == fresh["app.zip"]


@pytest.mark.parametrize(
    "change",
    [
        "module named like a dependency's",
        "pyproject edit",
        "artifact touched",
        "metadata edited",
        "other arguments",
    ],
)
def test_anything_else_takes_the_full_pipeline(cli: CliRunner, project: Path, change: str) -> None:
    args: list[str | Path] = ["build", project]
    if change == "module named like a dependency's":
        (project / "six.py").write_text("Y = 1\n")  # the default picks it: a collision to report
    elif change == "pyproject edit":
        (project / "pyproject.toml").write_text(PYPROJECT + '\n[tool.uv-lambda]\nexclude = ["app/util.py"]\n')
    elif change == "artifact touched":
        artifact(project).write_bytes(b"not a zip")
    elif change == "metadata edited":  # an app-only rebuild would carry the edit on
        metadata = artifact(project).with_name("function.zip.json")
        metadata.write_text(metadata.read_text().replace('"python3.13"', '"python3.12"'))
    else:
        args += ["--no-bytecode"]
    (project / "app" / "main.py").write_text(HANDLER + "# edited\n")
    result = cli(*args)
    assert FULL in result.stderr and FAST not in result.stderr, result.stderr
    if change == "module named like a dependency's":
        assert result.returncode == 1 and "six.py is shipped twice" in result.stderr, result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert ("app/util.py" in names(artifact(project))) == (change != "pyproject edit")


def test_added_and_removed_files_rebuild_only_the_app(cli: CliRunner, project: Path, tmp_path: Path) -> None:
    (project / "app" / "util.py").unlink()
    (project / "app" / "extra").mkdir()
    (project / "app" / "extra" / "__init__.py").write_text("Y = 1\n")
    (project / "app" / "extra" / "data.json").write_text("{}")
    (project / "helpers.py").write_text("Z = 1\n")  # a new top-level module: the default picks it
    result = cli("build", project)
    assert result.returncode == 0 and FAST in result.stderr, result.stderr
    assert "app/extra/__init__.py, app/extra/data.json, app/util.py and 1 more changed" in result.stderr
    zip_path = artifact(project)
    entries = names(zip_path)
    assert "app/util.py" not in entries and "app/__pycache__/util.cpython-313.pyc" not in entries
    assert "app/extra/__pycache__/__init__.cpython-313.pyc" in entries and "helpers.py" in entries
    fresh = _full_build_bytes(cli, project, tmp_path)
    assert zip_path.read_bytes() == fresh["function.zip"]
    fresh_meta = json.loads((project.parent / "fresh-out" / "function.zip.json").read_text())
    assert json.loads(zip_path.with_name("function.zip.json").read_text()) == fresh_meta


def test_a_syntax_error_fails_and_keeps_the_previous_artifact(cli: CliRunner, project: Path) -> None:
    before = artifact(project).read_bytes()
    (project / "app" / "main.py").write_text("def handler(event, context):\n    return (\n")
    result = cli("build", project)
    assert result.returncode == 1
    assert "error: app/main.py does not compile for the target Python: SyntaxError" in result.stderr
    assert "Traceback" not in result.stderr
    assert artifact(project).read_bytes() == before
    # Fixed again: the rebuild still works from the same record.
    (project / "app" / "main.py").write_text(HANDLER)
    assert cli("build", project).returncode == 0


@pytest.mark.parametrize("how", ["function renamed", "module deleted"])
def test_a_removed_handler_is_caught(cli: CliRunner, project: Path, how: str) -> None:
    before = artifact(project).read_bytes()
    if how == "module deleted":
        (project / "app" / "main.py").unlink()
    else:
        (project / "app" / "main.py").write_text("import six\n\ndef other(event, context):\n    return 1\n")
    result = cli("build", project)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    # No handler is configured: the full pipeline looks for one again, and finds none.
    assert FULL in result.stderr and "error: no handler configured" in result.stderr, result.stderr
    assert artifact(project).read_bytes() == before


def test_build_invoke_and_build_share_one_artifact_and_record(cli: CliRunner, project: Path) -> None:
    # invoke runs dist/lambda/orders/ and rebuilds it from build's record, and the build
    # after it finds the record invoke left: every step after the first is app-only.
    event = project / "event.json"
    event.write_text("{}")
    main = project / "app" / "main.py"
    main.write_text(HANDLER.replace("'six'", "'first'"))
    first = cli("invoke", project, "--event", event)
    assert first.returncode == 0 and json.loads(first.stdout) == {"first": "1.17.0"}, first.stderr
    assert "app/main.py changed, the rest reused" in first.stderr and FULL not in first.stderr
    main.write_text(HANDLER.replace("'six'", "'second'"))
    second = cli("invoke", project, "--event", event)
    assert second.returncode == 0 and json.loads(second.stdout) == {"second": "1.17.0"}, second.stderr
    assert "app/main.py changed, the rest reused" in second.stderr
    main.write_text(HANDLER.replace("'six'", "'third'"))
    built = cli("build", project)
    assert built.returncode == 0 and "app/main.py changed, the rest reused" in built.stderr, built.stderr
    assert "'third'" in _main_source(artifact(project))
    third = cli("invoke", project, "--event", event)
    assert json.loads(third.stdout) == {"third": "1.17.0"} and "is up to date" in third.stderr, third.stderr


def _main_source(zip_path: Path) -> str:
    with zipfile.ZipFile(zip_path) as bundle:
        return bundle.read("app/main.py").decode()


@pytest.mark.parametrize("flags", [["--arch", "arm64"], ["--no-bytecode"]])
def test_a_local_run_never_replaces_an_artifact_built_with_other_settings(
    cli: CliRunner, project: Path, flags: list[str]
) -> None:
    built = cli("build", project, *flags)
    assert built.returncode == 0 and FULL in built.stderr, built.stderr
    before = artifact(project).read_bytes()
    event = project / "event.json"
    event.write_text("{}")
    ran = cli("invoke", project, "--event", event)
    assert ran.returncode == 0 and json.loads(ran.stdout) == {"six": "1.17.0"}, ran.stderr
    assert "running a build of its own" in ran.stderr and "is left as it is" in ran.stderr
    assert artifact(project).read_bytes() == before
    # Both keep their records: the same commands again are up to date.
    again = cli("build", project, *flags)
    assert again.returncode == 0 and "is up to date" in again.stderr, again.stderr
    ran_again = cli("invoke", project, "--event", event)
    assert ran_again.returncode == 0 and "is up to date" in ran_again.stderr, ran_again.stderr
    assert artifact(project).read_bytes() == before


def test_settings_that_come_out_the_same_share_the_record(cli: CliRunner, project: Path) -> None:
    # `--format zip` is what the configuration says anyway: the same artifact, the same record.
    (project / "app" / "main.py").write_text(HANDLER.replace("'six'", "'same'"))
    result = cli("build", project, "--format", "zip")
    assert result.returncode == 0 and "app/main.py changed, the rest reused" in result.stderr, result.stderr


def test_without_a_record_the_metadata_decides_whose_folder_it_is(cli: CliRunner, project: Path) -> None:
    # The record is gone (a cleared cache, an older uv-lambda): a build with the configured
    # settings is shared, one made for arm64 is left alone.
    event = project / "event.json"
    event.write_text("{}")
    record = record_path(artifact(project).parent)
    record.unlink()
    shared = cli("invoke", project, "--event", event)
    assert shared.returncode == 0 and "running a build of its own" not in shared.stderr, shared.stderr
    assert cli("build", project, "--arch", "arm64").returncode == 0
    record.unlink()
    before = artifact(project).read_bytes()
    own = cli("invoke", project, "--event", event)
    assert own.returncode == 0 and "running a build of its own" in own.stderr, own.stderr
    assert artifact(project).read_bytes() == before


def test_a_rebuild_reads_the_application_from_the_artifact_it_wrote(
    cli: CliRunner, project: Path, tmp_path: Path
) -> None:
    from uv_lambda import sealed

    zip_path = artifact(project)
    record = record_path(zip_path.parent)
    assert record.with_suffix(".zip").is_file()  # a full build keeps its own copy
    (project / "app" / "util.py").write_text("X = 2\n")
    assert FAST in cli("build", project).stderr
    # The artifact holds the application's entries after its base's: no copy is written.
    document = sealed.read(record)
    assert isinstance(document, dict) and document["local_in"][0] == str(zip_path)
    assert not record.with_suffix(".zip").exists()
    (project / "app" / "util.py").write_text("X = 3\n")
    result = cli("build", project)
    assert FAST in result.stderr, result.stderr
    assert zip_path.read_bytes() == _full_build_bytes(cli, project, tmp_path)["function.zip"]
    # Bytes of the artifact changed behind its stat: its digest no longer fits, a full build.
    stamp = zip_path.stat()
    data = bytearray(zip_path.read_bytes())
    data[-200] ^= 0x10
    zip_path.write_bytes(bytes(data))
    os.utime(zip_path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    (project / "app" / "util.py").write_text("X = 4\n")
    result = cli("build", project)
    assert result.returncode == 0 and FULL in result.stderr, result.stderr
