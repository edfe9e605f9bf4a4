"""Bad input: each case gives a one-line error with a hint, the right exit code, no
traceback, and leaves no artifact (or the previous one) behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.bundle.build_helpers import artifact
from tests.support.interpreters import find_python
from tests.support.projects import CliResult, CliRunner, write_project

pytestmark = pytest.mark.slow


def assert_clean_error(result: CliResult, code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert "hint:" in result.stderr or result.stderr.startswith("usage:")


def no_artifacts(project: Path) -> bool:
    return not (project / "dist").exists()


def test_no_pyproject(cli: CliRunner, tmp_path: Path) -> None:
    assert_clean_error(cli("build", tmp_path), 2, "no pyproject.toml", "uv init")


def test_no_project_table(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    assert_clean_error(cli("build", tmp_path), 2, "no [project] table")


def test_missing_lock_then_lock_flag(cli: CliRunner, example) -> None:
    project = example("fastapi-hello")
    (project / "uv.lock").unlink()
    assert_clean_error(cli("build", project), 2, "uv.lock does not exist", "uv lock")
    assert no_artifacts(project)
    assert cli("build", project, "--lock").returncode == 0
    assert artifact(project).is_file()


def test_stale_lock(cli: CliRunner, example) -> None:
    project = example("fastapi-hello")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"mangum",', '"mangum",\n    "idna",'))
    assert_clean_error(cli("build", project), 2, "out of date", "uv lock")
    assert no_artifacts(project)


@pytest.mark.parametrize(("runtime", "needle"), [("python3.8", "deprecated"), ("python3.15", "unknown runtime")])
def test_unsupported_runtime(cli: CliRunner, example, runtime: str, needle: str) -> None:
    project = example("fastapi-hello")
    assert_clean_error(cli("build", project, "--runtime", runtime), 2, needle, "python3.13")


def test_runtime_outside_requires_python(cli: CliRunner, example) -> None:
    project = example("fastapi-hello")
    assert_clean_error(cli("build", project, "--runtime", "python3.12"), 2, "outside requires-python >=3.13")


def test_unknown_architecture_flag_and_config(cli: CliRunner, example) -> None:
    project = example("fastapi-hello")
    result = cli("build", project, "--arch", "sparc")
    assert result.returncode == 2 and "invalid choice: 'sparc'" in result.stderr
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.uv-lambda]\narchitecture = "sparc"\n')
    assert_clean_error(cli("build", project), 2, "architecture must be one of 'x86_64', 'arm64'", "pyproject.toml")


def test_unknown_key_and_wrong_type_name_key_and_file(cli: CliRunner, example) -> None:
    project = example("fastapi-hello")
    pyproject = project / "pyproject.toml"
    original = pyproject.read_text()
    pyproject.write_text(original + "\n[tool.uv-lambda]\nmemroy = 512\n")
    assert_clean_error(cli("build", project), 2, "unknown key 'memroy'", "did you mean 'memory'", "pyproject.toml")
    pyproject.write_text(original + '\n[tool.uv-lambda.functions.api]\ntimeout = "30"\n')
    assert_clean_error(cli("build", project), 2, "[tool.uv-lambda.functions.api] timeout must be a whole number")


@pytest.mark.parametrize(
    ("handler", "code", "needle"),
    [
        ("app.main", 2, "names a module, not a function"),
        (".handler", 2, "malformed handler"),
        ("", 2, "argument --handler: is empty"),
        ("app.main.hander", 1, "does not define 'hander'"),
        ("service.main.handler", 1, "module 'service.main' is not in the artifact"),
    ],
)
def test_bad_handlers(cli: CliRunner, example, handler: str, code: int, needle: str) -> None:
    project = example("fastapi-hello")
    assert_clean_error(cli("build", project, "--handler", handler), code, needle)
    assert no_artifacts(project)


def test_missing_handler_configuration(cli: CliRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.13"\n',
        {"service.py": "def lambda_handler(e, c):\n    return 1\n"},
    )
    # The error suggests the exact string for the handler-like function it found.
    assert_clean_error(cli("build", project), 2, "no handler configured", 'handler = "service.lambda_handler"')
    (project / "service.py").unlink()
    assert_clean_error(cli("build", project), 2, "no handler configured", 'handler = "main.handler"')


def test_local_package_with_c_extension_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "cext"
    write_project(
        root,
        '[project]\nname = "cext"\nversion = "0"\nrequires-python = ">=3.12"\ndependencies = ["fast"]\n'
        '[tool.uv.workspace]\nmembers = ["fast"]\n[tool.uv.sources]\nfast = { workspace = true }\n'
        '[tool.uv-lambda]\nhandler = "fn.handler"\n',
        {
            "fn.py": "import fast\n\ndef handler(e, c):\n    return 1\n",
            "fast/pyproject.toml": '[project]\nname = "fast"\nversion = "1.0"\n'
            '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n',
            "fast/setup.py": "from setuptools import Extension, setup\n"
            "setup(ext_modules=[Extension('fast', ['fast.c'])])\n",
            "fast/fast.c": '#include <Python.h>\nstatic struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "fast"};\n'
            "PyMODINIT_FUNC PyInit_fast(void) { return PyModule_Create(&m); }\n",
        },
    )
    result = cli("build", root, "--runtime", "python3.13")
    hint = "build a manylinux_2_34 x86_64 wheel of fast for CPython 3.13"
    assert_clean_error(result, 1, "local package fast has compiled code built for this machine", hint)
    assert "cp313-cp313-linux_x86_64" in result.stderr and "pin a" not in result.stderr
    assert no_artifacts(root)
    # Built with the runtime's own Python, whichever Python uv would pick by itself (3.13
    # here): the tags say so, and uv's bare "incompatible with the current platform" is not
    # what the user reads.
    result = cli("build", root, "--runtime", "python3.12", "--arch", "arm64")
    hint = "build a manylinux_2_34 aarch64 wheel of fast for CPython 3.12"
    assert_clean_error(result, 1, "(cp312-cp312-linux_x86_64), no wheel for python3.12 aarch64", hint)
    assert no_artifacts(root)


def test_vendored_wheel_for_another_platform_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    import zipfile

    root = tmp_path / "vendored"
    wheel = root / "vendor" / "fast-1.0-cp313-cp313-macosx_11_0_arm64.whl"
    wheel.parent.mkdir(parents=True)
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fast/__init__.py", "")
        archive.writestr("fast-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: fast\nVersion: 1.0\n")
        archive.writestr(
            "fast-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp313-cp313-macosx_11_0_arm64\n",
        )
        archive.writestr("fast-1.0.dist-info/RECORD", "")
    write_project(
        root,
        '[project]\nname = "vendored"\nversion = "0"\nrequires-python = ">=3.13"\ndependencies = ["fast"]\n'
        '[tool.uv.sources]\nfast = { path = "vendor/fast-1.0-cp313-cp313-macosx_11_0_arm64.whl" }\n'
        '[tool.uv-lambda]\nhandler = "fn.handler"\n',
        {"fn.py": "def handler(e, c):\n    return 1\n"},
    )
    result = cli("build", root)
    hint = "build a manylinux_2_34 x86_64 wheel of fast for CPython 3.13"
    assert_clean_error(result, 1, "local package fast has only a wheel for cp313-cp313-macosx_11_0_arm64", hint)
    assert no_artifacts(root)


def test_dependency_without_wheel_for_old_glibc_runtime(cli: CliRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "np",
        '[project]\nname = "np"\nversion = "0"\nrequires-python = ">=3.11"\ndependencies = ["numpy>=2.4"]\n'
        '[tool.uv-lambda]\nhandler = "h.main"\n',
        {"h.py": "def main(e, c):\n    return 1\n"},
    )
    assert_clean_error(cli("build", project, "--runtime", "python3.11"), 1, "numpy", "has no wheel for python3.11")


def test_package_that_does_not_exist(cli: CliRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "ghost",
        '[project]\nname = "ghost"\nversion = "0"\nrequires-python = ">=3.13"\n'
        'dependencies = ["uv-lambda-no-such-package-4242"]\n[tool.uv-lambda]\nhandler = "h.main"\n',
        {"h.py": "def main(e, c):\n    return 1\n"},
        lock=False,
    )
    # A name no index has is bad input (exit 2), and the hint says which name to check.
    assert_clean_error(
        cli("build", project, "--lock"), 2, "uv-lambda-no-such-package-4242", "check the name 'uv-lambda-no-such"
    )


def test_target_interpreter_missing(cli: CliRunner, tmp_path: Path) -> None:
    if find_python("3.14") is not None:
        pytest.skip("this machine has a Python 3.14")
    project = write_project(
        tmp_path / "p14",
        '[project]\nname = "p14"\nversion = "0"\nrequires-python = ">=3.13"\n',
        {"app/__init__.py": "", "app/main.py": "def handler(e, c):\n    return 1\n"},
    )
    result = cli("build", project, "--runtime", "python3.14")
    assert_clean_error(result, 2, "no Python 3.14 interpreter found", "uv python install 3.14", "--no-bytecode")
    assert cli("build", project, "--runtime", "python3.14", "--no-bytecode").returncode == 0


def test_output_folder_not_writable(cli: CliRunner, example, tmp_path: Path) -> None:
    project = example("fastapi-hello")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_clean_error(cli("build", project, "--out", blocker / "out"), 2, "is not writable", "--out")


def test_uv_missing_or_too_old(cli: CliRunner, example, tmp_path: Path) -> None:
    project = example("fastapi-hello")
    missing = cli("build", project, env={"UV_LAMBDA_UV": str(tmp_path / "no-uv")})
    assert_clean_error(missing, 2, "does not run")
    old = tmp_path / "old-uv"
    old.write_text("#!/bin/sh\necho 'uv 0.4.30'\n")
    old.chmod(0o755)
    assert_clean_error(
        cli("build", project, env={"UV_LAMBDA_UV": str(old)}),
        2,
        "uv 0.4.30",
        "older than",
        "pip install -U uv",
    )


def test_ctrl_c_keeps_previous_artifact_and_leaves_no_partial_files(cli: CliRunner, example, tmp_path: Path) -> None:
    project = example("fastapi-hello")
    assert cli("build", project).returncode == 0
    previous = artifact(project).read_bytes()
    (project / "app" / "main.py").write_text((project / "app" / "main.py").read_text() + "\n# edit\n")
    cache = tmp_path / "cold-cache"  # a cold cache makes the build long enough to interrupt
    process = subprocess.Popen(
        [sys.executable, "-m", "uv_lambda", "build", str(project)],
        env={**os.environ, "UV_LAMBDA_CACHE_DIR": str(cache)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list((cache / "packages").glob(".install-*")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert artifact(project).read_bytes() == previous
    assert not [p for p in artifact(project).parent.iterdir() if p.name not in {"function.zip", "function.zip.json"}]
    assert not list(cache.glob("*/.*")), "no half-written cache entry"
