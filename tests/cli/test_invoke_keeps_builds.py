"""`invoke` never replaces what `build` made with other settings: after `build --arch arm64`
(or `--format split`), a local run builds a copy of its own and leaves dist/lambda/ alone."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from tests.bundle.build_helpers import metadata, read
from tests.support.projects import CliRunner, write_project

pytestmark = pytest.mark.slow

PROJECT = '[project]\nname = "hello"\nversion = "0"\nrequires-python = ">=3.13"\ndependencies = []\n'
MAIN = "def handler(event, context):\n    return {'greeting': 'hello ' + event['name']}\n"


def _digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("flags", "kept"),
    [(["--arch", "arm64"], "function.zip"), (["--format", "split"], "app.zip")],
)
def test_invoke_after_a_build_with_other_flags_leaves_it_alone(
    cli: CliRunner, tmp_path: Path, flags: list[str], kept: str
) -> None:
    project = write_project(tmp_path / "hello", PROJECT, {"main.py": MAIN})
    event = tmp_path / "event.json"
    event.write_text('{"name": "world"}')
    assert cli("build", project, *flags).returncode == 0
    folder = project / "dist" / "lambda" / "hello"
    before = _digests(folder)

    first = cli("invoke", project, "--event", event)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"greeting": "hello world"}
    # An edit, then a second run: its own copy is rebuilt, the user's build still untouched.
    (project / "main.py").write_text(MAIN.replace("hello ", "hi "))
    second = cli("invoke", project, "--event", event)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == {"greeting": "hi world"}
    assert _digests(folder) == before
    if "--arch" in flags:
        assert metadata(folder / kept)["architecture"] == "arm64"


def test_invoke_shares_the_folder_when_the_settings_agree(cli: CliRunner, tmp_path: Path) -> None:
    project = write_project(tmp_path / "hello", PROJECT, {"main.py": MAIN})
    event = tmp_path / "event.json"
    event.write_text('{"name": "world"}')
    assert cli("build", project).returncode == 0
    (project / "main.py").write_text(MAIN.replace("hello ", "hey "))
    result = cli("invoke", project, "--event", event)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"greeting": "hey world"}
    shared = project / "dist" / "lambda" / "hello" / "function.zip"
    assert b"hey " in read(shared, "main.py")  # the run brought the build's own folder up to date
    assert metadata(shared)["architecture"] == "x86_64"


def test_invoke_handler_builds_a_project_that_names_none(cli: CliRunner, tmp_path: Path) -> None:
    """--handler is the run's; where the project names no handler and none is found in its
    files, the build takes it too (it checks the handler it ships, and would fail), and
    shares the folder of `build --handler` with the same value."""
    project = write_project(tmp_path / "hello", PROJECT, {"service/__init__.py": "", "service/api.py": MAIN})
    event = tmp_path / "event.json"
    event.write_text('{"name": "world"}')
    refused = cli("invoke", project, "--event", event)
    assert refused.returncode == 2 and "no handler configured" in refused.stderr
    result = cli("invoke", project, "--handler", "service.api.handler", "--event", event)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"greeting": "hello world"}
    assert cli("build", project, "--handler", "service.api.handler").returncode == 0
    (project / "service" / "api.py").write_text(MAIN.replace("hello ", "hey "))
    again = cli("invoke", project, "--handler", "service.api.handler", "--event", event)
    assert again.returncode == 0, again.stderr
    assert "a build of its own" not in again.stderr and json.loads(again.stdout) == {"greeting": "hey world"}
    assert b"hey " in read(project / "dist" / "lambda" / "hello" / "function.zip", "service/api.py")


def test_the_record_an_invoke_writes_while_its_function_starts_is_the_next_builds(
    cli: CliRunner, tmp_path: Path
) -> None:
    """A one-shot run writes the build record of its app-only rebuild on a thread while the
    function starts (app/local.py): the next build and the next run still follow it with an
    app-only rebuild, or find nothing to do."""
    project = write_project(tmp_path / "hello", PROJECT, {"main.py": MAIN, "util.py": "X = 1\n"})
    event = tmp_path / "event.json"
    event.write_text('{"name": "world"}')
    assert cli("build", project).returncode == 0
    for index, greeting in enumerate(("hey ", "yo ")):
        (project / "main.py").write_text(MAIN.replace("hello ", greeting))
        run = cli("invoke", project, "--event", event)
        assert run.returncode == 0, run.stderr
        assert "main.py changed, the rest reused" in run.stderr, run.stderr
        assert json.loads(run.stdout) == {"greeting": f"{greeting}world"}
        if index == 0:
            after = cli("build", project)
            assert after.returncode == 0 and "is up to date" in after.stderr, after.stderr
    (project / "util.py").write_text("X = 2\n")
    last = cli("build", project)
    assert last.returncode == 0 and "util.py changed, the rest reused" in last.stderr, last.stderr
