"""Requirements whose markers are false on Lambda are dropped from the install, the package
list and the size report; the rest is kept (unit tests of the marker logic, then real builds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.bundle.build_helpers import metadata, names
from tests.support.projects import CliRunner, write_project

from uv_lambda.bundle.export import exporter, markers
from uv_lambda.runtimes import Architecture, get_runtime

EXPORT = """\
anyio==4.9.0 \\
    --hash=sha256:aaa
colorama==0.4.6 ; sys_platform == 'win32' \\
    --hash=sha256:bbb \\
    --hash=sha256:ccc
exceptiongroup==1.3.0 ; python_full_version < '3.11' \\
    --hash=sha256:ddd
numpy==1.26.4 ; python_full_version < '3.12' \\
    --hash=sha256:eee
numpy==2.2.6 ; python_full_version >= '3.12' \\
    --hash=sha256:fff
typing-extensions==4.14.0 ; python_full_version < '3.13' \\
    --hash=sha256:ggg
uvloop==0.21.0 ; platform_machine == 'x86_64' and sys_platform != 'win32' \\
    --hash=sha256:hhh
pywin32==310 ; platform_system == 'Windows'
pyobjc-core==11.0 ; sys_platform == 'darwin'
greenlet==3.2.3 ; platform_python_implementation == 'CPython'
"""


def _for(runtime: str, arch: Architecture = Architecture.X86_64) -> exporter.Exported:
    return exporter.for_target(exporter.Exported(EXPORT, (), ()), get_runtime(runtime), arch)


def test_environment_is_complete_and_independent_of_this_machine() -> None:
    from packaging.markers import default_environment

    environment = markers.target_environment(get_runtime("python3.12"), Architecture.ARM64)
    assert set(default_environment()) <= set(environment)
    assert environment["python_full_version"] == "3.12.0" and environment["python_version"] == "3.12"
    assert environment["platform_machine"] == "aarch64" and environment["sys_platform"] == "linux"
    assert environment["platform_python_implementation"] == "CPython"
    assert environment["implementation_name"] == "cpython"


def test_false_markers_dropped_for_a_runtime_newer_than_the_floor() -> None:
    exported = _for("python3.13")
    assert exported.pins == (("anyio", "4.9.0"), ("greenlet", "3.2.3"), ("numpy", "2.2.6"), ("uvloop", "0.21.0"))
    assert "colorama" not in exported.requirements and "typing-extensions" not in exported.requirements
    # Hash continuations stay with their requirement.
    assert "numpy==2.2.6 ; python_full_version >= '3.12' \\\n    --hash=sha256:fff\n" in exported.requirements
    assert "--hash=sha256:eee" not in exported.requirements and "--hash=sha256:bbb" not in exported.requirements
    assert "colorama==0.4.6 ; sys_platform == 'win32'" in exported.dropped
    assert len(exported.dropped) == 6


def test_python_version_and_machine_markers_follow_the_target() -> None:
    older = _for("python3.11")
    assert ("typing-extensions", "4.14.0") in older.pins and ("numpy", "1.26.4") in older.pins
    assert ("exceptiongroup", "1.3.0") not in older.pins
    assert ("exceptiongroup", "1.3.0") in _for("python3.10").pins
    assert ("uvloop", "0.21.0") not in _for("python3.13", Architecture.ARM64).pins


@pytest.mark.parametrize(
    ("line", "applies"),
    [
        ("idna==3.10", True),
        ("idna==3.10 \\", True),
        ("tzdata==2025.2 ; sys_platform == 'win32' \\", False),
        ("x==1 ; python_full_version >= '3.13.0' and python_full_version < '3.14'", True),
        ("x==1 ; extra == 'socks'", False),
        ("x==1 ; implementation_name == 'pypy'", False),
        ("./vendor/x-1.0-py3-none-any.whl ; sys_platform == 'linux'", True),
        ("./vendor/x-1.0-py3-none-any.whl ; sys_platform == 'win32'", False),
        ("x==1 ; this is not a marker", True),  # unreadable: kept, uv decides
    ],
)
def test_evaluate_single_lines(line: str, applies: bool) -> None:
    environment = markers.target_environment(get_runtime("python3.13"), Architecture.X86_64)
    assert markers.evaluate(line, environment).applies is applies


PROJECT = """\
[project]
name = "marked"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = ["click==8.1.8", "anyio==4.9.0", "tzdata==2025.2 ; sys_platform == 'win32'"]

[tool.uv]
exclude-newer = "2025-06-01T00:00:00Z"

[tool.uv-lambda]
handler = "main.handler"
"""


@pytest.fixture(scope="module")
def marked_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("marked") / "marked",
        PROJECT,
        {"main.py": "import anyio, click\n\ndef handler(event, context):\n    return click.__name__\n"},
    )


@pytest.mark.slow
@pytest.mark.parametrize(("runtime", "typing_extensions"), [("python3.13", False), ("python3.12", True)])
def test_build_drops_windows_and_old_python_requirements(
    cli: CliRunner, marked_project: Path, tmp_path: Path, runtime: str, typing_extensions: bool
) -> None:
    out = tmp_path / "out"
    result = cli("build", marked_project, "--runtime", runtime, "--out", out, "--no-bytecode")
    assert result.returncode == 0, result.stderr
    zip_path = out / "function.zip"
    entries = names(zip_path)
    assert "click/__init__.py" in entries and "anyio/__init__.py" in entries
    assert not any(name.startswith(("colorama", "tzdata")) for name in entries)
    assert any(name.startswith("typing_extensions") for name in entries) is typing_extensions
    packages = {package["name"] for package in metadata(zip_path)["packages"]}
    assert {"click", "anyio", "idna", "sniffio"} <= packages
    assert "colorama" not in packages and "tzdata" not in packages
    assert ("typing-extensions" in packages) is typing_extensions
