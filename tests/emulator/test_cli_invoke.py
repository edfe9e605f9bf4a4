"""`uv-lambda invoke` end to end on hand-made artifacts, and its bad-input errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import build_folder

ECHO = "import json\ndef handler(event, context):\n    print('got', json.dumps(event))\n    return {'echo': event}\n"


def _one_line_error(stderr: str, *, function_log: bool = False) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    if not function_log:  # the function's own log may show its traceback; ours never does
        assert "Traceback" not in stderr
    return lines[0]


def test_invoke_prints_result_on_stdout_and_log_on_stderr(cli: Any, tmp_path: Path) -> None:
    folder = build_folder(tmp_path / "dist", {"app.py": ECHO})
    event = tmp_path / "event.json"
    event.write_text('{"name": "x"}')
    result = cli("invoke", "--artifact", folder, "--event", event)
    assert result.returncode == 0, result.stderr
    # Exactly what `aws lambda invoke` writes to its output file: the JSON, no newline.
    assert result.stdout == '{"echo": {"name": "x"}}'
    lines = result.stderr.splitlines()
    if lines[0].startswith("running without a sandbox"):  # the start-up line of an unsandboxed run
        lines = lines[1:]
    assert lines[0].startswith("INIT_START Runtime Version: ")
    assert lines[1].startswith("START RequestId: ") and lines[1].endswith(" Version: $LATEST")
    assert lines[2] == 'got {"name": "x"}'
    assert lines[3].startswith("END RequestId: ")
    assert lines[4].startswith("REPORT RequestId: ") and "Init Duration: " in lines[4]


def test_invoke_reads_the_event_from_stdin_and_runs_a_bare_zip(tmp_path: Path) -> None:
    code = tmp_path / "code.zip"
    with zipfile.ZipFile(code, "w") as bundle:
        bundle.writestr("app.py", ECHO)
    args = ["invoke", "--artifact", code, "--handler", "app.handler", "--runtime", "python3.13", "--event", "-"]
    result = subprocess.run(
        [sys.executable, "-m", "uv_lambda", *map(str, args)],
        input='{"from": "stdin"}',
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"echo": {"from": "stdin"}}


def test_extra_layers_are_mounted_after_the_built_one(cli: Any, tmp_path: Path) -> None:
    folder = build_folder(tmp_path / "dist", {"app.py": "import extra\ndef handler(e, c):\n    return extra.VALUE\n"})
    layer = tmp_path / "extra.zip"
    with zipfile.ZipFile(layer, "w") as bundle:
        bundle.writestr("python/extra.py", "VALUE = 'from layer'")
    result = cli("invoke", "--artifact", folder, "--layer", layer)
    assert result.returncode == 0, result.stderr
    assert result.stdout == '"from layer"'


def test_function_error_exits_non_zero_with_lambdas_error_json(cli: Any, tmp_path: Path) -> None:
    folder = build_folder(tmp_path / "dist", {"app.py": "def handler(e, c):\n    raise ValueError('bad input')\n"})
    result = cli("invoke", "--artifact", folder)
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "bad input"
    assert _one_line_error(result.stderr, function_log=True) == "error: the function failed with ValueError"


@pytest.mark.parametrize(
    ("files", "handler", "error_type"),
    [
        ({"app.py": "import nowhere_to_be_found\n"}, "app.handler", "Runtime.ImportModuleError"),
        ({"app.py": "def not_it(e, c):\n    pass\n"}, "app.handler", "Runtime.HandlerNotFound"),
    ],
)
def test_handler_problems_are_reported_with_awslambdarics_type(
    cli: Any, tmp_path: Path, files: dict[str, str], handler: str, error_type: str
) -> None:
    folder = build_folder(tmp_path / "dist", files, handler=handler)
    result = cli("invoke", "--artifact", folder)
    assert result.returncode == 1
    assert json.loads(result.stdout)["errorType"] == error_type
    assert _one_line_error(result.stderr, function_log=True) == f"error: the function failed with {error_type}"


BadSetup = Callable[[Path], list[str]]


def _missing_event(tmp: Path) -> list[str]:
    return ["--artifact", str(build_folder(tmp / "dist", {"app.py": ECHO})), "--event", str(tmp / "nope.json")]


def _event_not_json(tmp: Path) -> list[str]:
    (tmp / "event.json").write_text("{not json")
    return ["--artifact", str(build_folder(tmp / "dist", {"app.py": ECHO})), "--event", str(tmp / "event.json")]


def _event_too_large(tmp: Path) -> list[str]:
    (tmp / "event.json").write_text(json.dumps({"data": "x" * (6 * 1024 * 1024)}))
    return ["--artifact", str(build_folder(tmp / "dist", {"app.py": ECHO})), "--event", str(tmp / "event.json")]


def _artifact_missing(tmp: Path) -> list[str]:
    return ["--artifact", str(tmp / "dist" / "nothing-here")]


def _corrupt_zip(tmp: Path) -> list[str]:
    folder = build_folder(tmp / "dist", {"app.py": ECHO})
    data = (folder / "function.zip").read_bytes()
    (folder / "function.zip").write_bytes(data[: len(data) // 2])
    return ["--artifact", str(folder)]


def _arm64_artifact(tmp: Path) -> list[str]:
    return ["--artifact", str(build_folder(tmp / "dist", {"app.py": ECHO}, architecture="arm64"))]


def _timeout_out_of_range(tmp: Path) -> list[str]:
    return ["--artifact", str(build_folder(tmp / "dist", {"app.py": ECHO})), "--timeout", "901"]


def _missing_layer(tmp: Path) -> list[str]:
    return ["--artifact", str(build_folder(tmp / "dist", {"app.py": ECHO})), "--layer", str(tmp / "no-layer.zip")]


def _no_interpreter(tmp: Path) -> list[str]:
    # There is no Python 3.14 on this machine (and uv may not download one).
    return ["--artifact", str(build_folder(tmp / "dist", {"app.py": ECHO}, runtime="python3.14"))]


@pytest.mark.parametrize(
    ("setup", "message", "hint"),
    [
        (_missing_event, "event file", "JSON file"),
        (_event_not_json, "the event is not JSON", "JSON events"),
        (_event_too_large, "over Lambda's limit of 6,291,456 bytes", "S3"),
        (_artifact_missing, "does not exist", "uv-lambda build"),
        (_corrupt_zip, "is not a valid zip file", "rebuild"),
        (_arm64_artifact, "built for arm64 (aarch64) and this machine is x86_64", "build it for x86_64"),
        (_no_interpreter, "no Python 3.14 interpreter found", "uv python install 3.14"),
        (_timeout_out_of_range, "--timeout 901 is out of range", "Lambda allows 1 to 900"),
        (_missing_layer, "no-layer.zip does not exist", "layer zip"),
    ],
)
def test_bad_input_is_one_clear_line(cli: Any, tmp_path: Path, setup: BadSetup, message: str, hint: str) -> None:
    result = cli("invoke", *setup(tmp_path))
    assert result.returncode == 2, result.stderr
    assert message in _one_line_error(result.stderr)
    assert hint in result.stderr.split("hint:", 1)[1]
    assert result.stdout == ""


def test_sandbox_require_fails_where_bwrap_is_missing_and_auto_says_what_differs(tmp_path: Path) -> None:
    """A PATH without bwrap (uv is the one bundled with uv-lambda; the interpreter is named)."""
    folder = build_folder(tmp_path / "dist", {"app.py": ECHO})
    empty = tmp_path / "no-tools"
    empty.mkdir()
    from uv_lambda.uv import find_uv

    python = find_uv().find_python("3.13")  # found here: uv will not find it without PATH
    env = {**os.environ, "PATH": str(empty)}

    def invoke(*flags: str) -> subprocess.CompletedProcess[str]:
        args = ["invoke", "--artifact", str(folder), "--python", str(python), *flags]
        return subprocess.run(
            [sys.executable, "-m", "uv_lambda", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )

    required = invoke("--sandbox", "require")
    assert required.returncode == 2
    assert _one_line_error(required.stderr) == "error: --sandbox require: bwrap (bubblewrap) is not installed"
    assert "hint: install bubblewrap" in required.stderr
    automatic = invoke("--sandbox", "auto")
    assert automatic.returncode == 0, automatic.stderr
    first = automatic.stderr.splitlines()[0]
    assert first.startswith("running without a sandbox (bwrap (bubblewrap) is not installed): ")
