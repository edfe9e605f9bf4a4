"""Dependencies that publish only an sdist: a pure one is built with the target's Python and
shipped; one with C code is refused with true remedies; `source-builds = false` refuses all."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.bundle.build_helpers import metadata, names, read
from tests.support.projects import CliResult, CliRunner, write_project

from uv_lambda.bundle.export import exporter, lock_files
from uv_lambda.bundle.install import source_builds
from uv_lambda.errors import CommandError
from uv_lambda.runtimes import Architecture, get_runtime

PROJECT = """\
[project]
name = "sdists"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = [{deps}]

[tool.uv]
exclude-newer = "2025-06-01T00:00:00Z"

[tool.uv-lambda]
handler = "main.handler"
"""


def _project(root: Path, *deps: str) -> Path:
    return write_project(
        root,
        PROJECT.format(deps=", ".join(f'"{dep}"' for dep in deps)),
        {"main.py": "def handler(event, context):\n    return 1\n"},
    )


def _error(result: CliResult) -> tuple[str, str]:
    lines = result.stderr.splitlines()
    (error,) = [line.removeprefix("error: ") for line in lines if line.startswith("error:")]
    (hint,) = [line.removeprefix("hint: ") for line in lines if line.startswith("hint:")]
    assert "Traceback" not in result.stderr
    return error, hint


@pytest.fixture(scope="module")
def pure(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("pure") / "sdists", "docopt==0.6.2", "six==1.17.0")


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("native") / "sdists", "crcmod==1.7")


def test_the_lock_names_packages_without_wheels(pure: Path) -> None:
    packages = exporter.lock_packages(pure / "uv.lock")
    assert exporter.source_only(packages) == ("docopt",)
    # The others' wheels are installed by URL (lock_files.py); docopt has none to list.
    assert [pin.partition("==")[0] for pin in lock_files.blocks_by_pin(packages)] == ["six"]


@pytest.mark.slow
def test_pure_sdist_is_built_with_the_targets_python_and_shipped(cli: CliRunner, pure: Path) -> None:
    result = cli("build", pure)
    assert result.returncode == 0, result.stderr
    zip_path = pure / "dist" / "lambda" / "sdists" / "function.zip"
    entries = names(zip_path)
    assert "docopt.py" in entries and "__pycache__/docopt.cpython-312.pyc" in entries and "six.py" in entries
    assert "Tag: py3-none-any" in read(zip_path, "docopt-0.6.2.dist-info/WHEEL").decode()
    assert {"docopt", "six"} <= {package["name"] for package in metadata(zip_path)["packages"]}


@pytest.mark.slow
def test_source_builds_false_allows_wheels_only(cli: CliRunner, pure: Path, tmp_path: Path) -> None:
    project = tmp_path / "sdists"
    shutil.copytree(pure, project, ignore=shutil.ignore_patterns("dist"))
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "source-builds = false\n")
    result = cli("build", project)
    assert result.returncode == 2
    error, hint = _error(result)
    assert error == "docopt publishes only a source distribution, and source-builds = false allows wheels only"
    assert hint == (
        "remove `source-builds = false` from [tool.uv-lambda] to let uv build it with Python 3.12, "
        "or replace it with packages that publish wheels"
    )
    assert not (project / "dist").exists()


NATIVE_HINT = (
    "replace crcmod with a package that publishes manylinux wheels, or build a manylinux_2_34 {machine} wheel "
    "of it for CPython 3.12 (in a manylinux or Amazon Linux container) and depend on that file "
    "(`uv add ./wheels/<file>.whl`)"
)


@pytest.mark.slow
@pytest.mark.parametrize(("arch", "machine"), [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_sdist_with_c_code_is_refused(cli: CliRunner, native: Path, tmp_path: Path, arch: str, machine: str) -> None:
    result = cli("build", native, "--arch", arch, "--out", tmp_path / "out")
    assert result.returncode == 1, result.stderr
    error, hint = _error(result)
    assert error == (
        f"crcmod publishes only a source distribution with C code: no wheel for python3.12 {machine} "
        "(built here: cp312-cp312-linux_x86_64)"
    ), error
    assert hint == NATIVE_HINT.format(machine=machine)
    assert not (tmp_path / "out").exists()


def test_failed_source_build_hint_is_about_the_build() -> None:
    output = "error: Failed to build `docopt==0.6.2`\n  Caused by: The build backend returned an error"
    exc = CommandError("installing dependencies failed (exit 1): The build backend returned an error", None, output)
    error = source_builds.explain_failure(exc, ["docopt"], get_runtime("python3.13"), Architecture.X86_64)
    assert error.message == (
        "building docopt from source for python3.13 x86_64 failed: The build backend returned an error"
    )
    assert error.hint == (
        "docopt publishes only a source distribution: fix what its build reports (run with -v for uv's whole "
        "output), or replace it with a package that publishes wheels"
    )


def test_no_interpreter_for_a_source_build() -> None:
    error = source_builds.no_interpreter(["docopt"], get_runtime("python3.14"))
    assert error.message == (
        "docopt must be built from source with Python 3.14, and no Python 3.14 interpreter was found"
    )
    assert error.hint == (
        "install one with `uv python install 3.14`, or pass `--python PATH` to a python3.14 interpreter"
    )
