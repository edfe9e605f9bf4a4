"""Bad events, sources and flags given to `invoke`: exit 2 (or 1 for a function that cannot
load), one line with a true hint, no traceback, nothing left behind."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from tests.support.local_run import HANDLER, ZIP_ARGS, assert_no_scratch, assert_refused, run, write_zip
from tests.support.projects import write_project

from uv_lambda.limits import MAX_SYNC_PAYLOAD


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "code.zip", [("app.py", HANDLER)])


def invoke_event(tmp_path: Path, code: Path, *extra: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = run("invoke", "--artifact", code, *ZIP_ARGS, *extra, tmp=tmp_path / "tmp", stdin=stdin)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("content", "needles", "hint"),
    [
        pytest.param('{"name": "café"}'.encode("latin-1"), ["not UTF-8", "0xe9 at offset 13"], "UTF-8", id="latin-1"),
        pytest.param(b"\xff\xfe\x00", ["not UTF-8"], "UTF-8", id="binary"),
        pytest.param(b"name=x", ["not JSON"], "JSON events", id="not-json"),
        pytest.param(b'{"a": 1', ["not JSON"], "JSON events", id="truncated-json"),
        pytest.param(b'{"a": NaN}x', ["not JSON"], "JSON events", id="trailing-garbage"),
    ],
)
def test_events_that_are_not_json(tmp_path: Path, code: Path, content: bytes, needles: list[str], hint: str) -> None:
    event = tmp_path / "event.json"
    event.write_bytes(content)
    result = run("invoke", "--artifact", code, *ZIP_ARGS, "--event", event, tmp=tmp_path / "tmp")
    assert_refused(result, 2, *needles, hint=hint)
    assert result.stdout == ""


def test_a_huge_event_file_is_refused_by_its_size(tmp_path: Path, code: Path) -> None:
    event = tmp_path / "big.json"
    with event.open("wb") as sink:  # sparse: 2 GB that take no space and would take long to read
        sink.truncate(2 * 1024**3)
    result = run("invoke", "--artifact", code, *ZIP_ARGS, "--event", event, tmp=tmp_path / "tmp", timeout=30)
    assert_refused(result, 2, "2,147,483,648 bytes", f"limit of {MAX_SYNC_PAYLOAD:,} bytes", hint="S3")


def test_a_huge_event_on_stdin_is_not_read_whole(tmp_path: Path, code: Path) -> None:
    stdin = b"[" + b"1," * (MAX_SYNC_PAYLOAD // 2 + 10) + b"1]"
    result = run("invoke", "--artifact", code, *ZIP_ARGS, "--event", "-", tmp=tmp_path / "tmp", stdin=stdin)
    assert_refused(result, 2, "the event from stdin is over Lambda's limit", hint="S3")


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        pytest.param("missing.json", "does not exist", id="missing"),
        pytest.param("folder", "is a folder", id="folder"),
    ],
)
def test_event_paths_that_are_not_files(tmp_path: Path, code: Path, name: str, needle: str) -> None:
    (tmp_path / "folder").mkdir()
    result = run("invoke", "--artifact", code, *ZIP_ARGS, "--event", tmp_path / name, tmp=tmp_path / "tmp")
    assert_refused(result, 2, f"event file {tmp_path / name} {needle}", hint="JSON file")


def test_an_event_from_a_pipe(tmp_path: Path, code: Path) -> None:
    """`--event <(make-event)` hands over a pipe, not a regular file: it is read."""
    fifo = tmp_path / "event.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with fifo.open("wb") as sink:
            sink.write(b'{"from": "pipe"}')

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    result = run("invoke", "--artifact", code, *ZIP_ARGS, "--event", fifo, tmp=tmp_path / "tmp", timeout=60)
    writer.join(timeout=10)
    assert (result.returncode, result.stdout) == (0, '{"ok": {"from": "pipe"}}'), result.stderr
    assert_no_scratch(result.tmp)


@pytest.mark.parametrize(
    ("flags", "needle", "hint"),
    [
        pytest.param(["--timeout", "0"], "--timeout 0 is out of range", "1 to 900", id="timeout-0"),
        pytest.param(["--timeout", "901"], "--timeout 901 is out of range", "1 to 900", id="timeout-901"),
        pytest.param(["--memory", "64"], "--memory 64 is out of range", "128 to 10240", id="memory-64"),
        pytest.param(["--region", "eu-west-1"], "--region only applies with --remote", "--remote", id="region"),
        pytest.param(["--remote"], "--artifact only applies to a local run", "drop --artifact", id="remote"),
    ],
)
def test_flags_out_of_range(tmp_path: Path, code: Path, flags: list[str], needle: str, hint: str) -> None:
    result = run("invoke", "--artifact", code, *ZIP_ARGS, *flags, tmp=tmp_path / "tmp")
    assert_refused(result, 2, needle, hint=hint)


def test_a_latin_1_source_in_an_artifact_fails_as_on_lambda(tmp_path: Path) -> None:
    """The zip is run as given, by the real awslambdaric: the import fails with
    Runtime.UserCodeSyntaxError, and posting that error (its text holds U+FFFD, which
    http.client refuses to send as Latin-1) ends the runtime: Runtime.ExitError, exit 1."""
    source = "def handler(event, context):\n    return 'café'\n".encode("latin-1")
    code = write_zip(tmp_path / "code.zip", [("app.py", source)])
    result = run("invoke", "--artifact", code, *ZIP_ARGS, tmp=tmp_path / "tmp")
    assert result.returncode == 1, result.stderr
    assert "Runtime.UserCodeSyntaxError: Syntax error in module 'app'" in result.stderr
    assert '"errorType": "Runtime.ExitError"' in result.stdout
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: the function failed with Runtime.ExitError"
    ]
    assert "internal error" not in result.stderr
    assert_no_scratch(result.tmp)


@pytest.mark.slow
def test_a_latin_1_source_in_the_project(tmp_path: Path) -> None:
    """`invoke` builds first: the bad file is a syntax error with its line, and no build is left."""
    project = write_project(
        tmp_path / "latin",
        '[project]\nname = "latin"\nversion = "0"\nrequires-python = ">=3.13"\n'
        '[tool.uv-lambda]\nhandler = "app.handler"\n',
    )
    (project / "app.py").write_bytes("def handler(event, context):\n    return 'café'\n".encode("latin-1"))
    result = run("invoke", project, tmp=tmp_path / "tmp")
    assert_refused(result, 1, "app.py does not compile", "(line 2)", hint="save it as UTF-8, or declare its encoding")
    assert not (project / "dist" / "lambda" / "latin" / "function.zip").exists()


@pytest.mark.slow
def test_a_declared_latin_1_source_builds_and_runs(tmp_path: Path) -> None:
    """PEP 263: a coding line makes latin-1 source valid; the handler check reads it so."""
    project = write_project(
        tmp_path / "declared",
        '[project]\nname = "declared"\nversion = "0"\nrequires-python = ">=3.13"\n'
        '[tool.uv-lambda]\nhandler = "app.handler"\n',
    )
    source = "# -*- coding: latin-1 -*-\ndef handler(event, context):\n    return 'café'\n"
    (project / "app.py").write_bytes(source.encode("latin-1"))
    result = run("invoke", project, tmp=tmp_path / "tmp")
    assert (result.returncode, result.stdout) == (0, '"café"'), result.stderr
