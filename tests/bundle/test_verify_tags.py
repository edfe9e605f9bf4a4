"""Wheel tags read with packaging: compressed tag sets, free-threaded builds, canonical names;
then real wheels with a compressed `Tag:` line (older maturin) built for their runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.bundle.build_helpers import metadata, names, read
from tests.support.projects import CliRunner, write_project

from uv_lambda.bundle.verify.platform_checks import (
    Target,
    check_binaries,
    check_wheel_tags,
    dist_info_name,
    distribution_of_files,
)
from uv_lambda.errors import VerificationError
from uv_lambda.runtimes import get_architecture, get_runtime


def _wheel(root: Path, folder: str, *tags: str) -> None:
    info = root / folder
    info.mkdir(parents=True)
    lines = "".join(f"Tag: {tag}\n" for tag in tags)
    (info / "WHEEL").write_text(f"Wheel-Version: 1.0\nGenerator: maturin (1.7.4)\n{lines}")


def _target(runtime: str, arch: str = "x86_64") -> Target:
    return Target(get_runtime(runtime), get_architecture(arch))


@pytest.mark.parametrize(
    ("tag", "runtime", "arch", "ok"),
    [
        ("cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64", "python3.13", "x86_64", True),
        ("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", "python3.11", "x86_64", True),
        ("cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64", "python3.11", "arm64", True),
        ("cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64", "python3.11", "x86_64", False),
        ("cp311-cp311-manylinux_2_28_x86_64.manylinux_2_34_x86_64", "python3.11", "x86_64", False),  # glibc 2.26
        ("cp312-cp312-manylinux_2_28_x86_64.manylinux_2_34_x86_64", "python3.12", "x86_64", True),
        ("cp312-cp312-manylinux_2_35_x86_64", "python3.12", "x86_64", False),
        ("cp313-cp313t-manylinux_2_17_x86_64.manylinux2014_x86_64", "python3.13", "x86_64", False),
        ("cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64", "python3.13", "x86_64", True),
        ("cp314-abi3-manylinux_2_17_x86_64", "python3.13", "x86_64", False),  # abi3 from a newer CPython
        ("py2.py3-none-any", "python3.10", "x86_64", True),
        ("py2-none-any", "python3.13", "x86_64", False),
        ("cp313-none-any", "python3.13", "x86_64", True),
        ("pp310-pypy310_pp73-manylinux_2_17_x86_64", "python3.10", "x86_64", False),
        ("cp313-cp313-musllinux_1_2_x86_64.manylinux_2_17_x86_64", "python3.13", "x86_64", True),
        ("cp313-cp313-manylinux1_x86_64", "python3.13", "x86_64", True),
        ("not-a-tag", "python3.13", "x86_64", False),
    ],
)
def test_compressed_tag_sets(tmp_path: Path, tag: str, runtime: str, arch: str, ok: bool) -> None:
    _wheel(tmp_path, "pydantic_core-2.27.2.dist-info", tag)
    if ok:
        check_wheel_tags(tmp_path, _target(runtime, arch))
    else:
        with pytest.raises(VerificationError, match=r"^pydantic-core (has no wheel|is built for free-threaded)"):
            check_wheel_tags(tmp_path, _target(runtime, arch))


def test_free_threaded_wheel_is_named_as_such(tmp_path: Path) -> None:
    _wheel(tmp_path, "orjson-3.10.0.dist-info", "cp313-cp313t-manylinux_2_17_x86_64.manylinux2014_x86_64")
    with pytest.raises(VerificationError) as error:
        check_wheel_tags(tmp_path, _target("python3.13"))
    assert "free-threaded" in error.value.message and "standard CPython of python3.13" in error.value.message
    assert error.value.hint is not None and "cp313 wheel of orjson" in error.value.hint


def test_no_wheel_hint_names_platform_machine_and_python(tmp_path: Path) -> None:
    _wheel(tmp_path, "Foo_Bar-1.0.dist-info", "cp312-cp312-manylinux_2_17_x86_64")
    with pytest.raises(VerificationError) as error:
        check_wheel_tags(tmp_path, _target("python3.13"))
    assert error.value.message.startswith("foo-bar has no wheel for python3.13 on x86_64")
    assert error.value.hint == (
        "pin a version of foo-bar with a manylinux_2_34 x86_64 wheel for CPython 3.13, or choose another runtime"
    )


def test_built_here_wheel_is_refused_with_its_own_message(tmp_path: Path) -> None:
    _wheel(tmp_path, "lib-1.0.dist-info", "cp313-cp313-linux_x86_64")
    with pytest.raises(VerificationError, match=r"^lib was built on this machine"):
        check_wheel_tags(tmp_path, _target("python3.13"))


def test_dist_info_names_are_canonical(tmp_path: Path) -> None:
    assert dist_info_name("pydantic_core-2.27.2.dist-info") == "pydantic-core"
    assert dist_info_name("Zope.Interface-7.0.dist-info") == "zope-interface"
    info = tmp_path / "pydantic_core-2.27.2.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("pydantic_core/__init__.py,,\npydantic_core-2.27.2.dist-info/RECORD,,\n")
    assert distribution_of_files(tmp_path)["pydantic_core"] == "pydantic-core"


def test_free_threaded_extension_module_is_refused(tmp_path: Path) -> None:
    (tmp_path / "fast.cpython-313t-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    with pytest.raises(VerificationError, match="extension for another Python"):
        check_binaries(tmp_path, _target("python3.13"))


OLD_MATURIN = """\
[project]
name = "old-maturin"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["pydantic-core==2.27.2", "orjson==3.9.15"]

[tool.uv]
exclude-newer = "2025-01-15T00:00:00Z"

[tool.uv-lambda]
handler = "main.handler"
"""


@pytest.mark.slow
def test_pydantic_core_and_orjson_from_older_maturin_build_for_python311(cli: CliRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "old-maturin",
        OLD_MATURIN,
        {"main.py": "import orjson, pydantic_core\n\ndef handler(event, context):\n    return orjson.dumps(event)\n"},
    )
    result = cli("build", project, "--runtime", "python3.11", "--no-bytecode")
    assert result.returncode == 0, result.stderr
    zip_path = project / "dist" / "lambda" / "old-maturin" / "function.zip"
    entries = names(zip_path)
    assert any(name.startswith("pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu") for name in entries)
    assert any(name.startswith("orjson/orjson.cpython-311-x86_64-linux-gnu") for name in entries)
    # The case this test is for: one `Tag:` line that holds two platform tags.
    wheel = read(zip_path, "pydantic_core-2.27.2.dist-info/WHEEL").decode()
    assert "Tag: cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64" in wheel
    packages = {package["name"] for package in metadata(zip_path)["packages"]}
    assert {"pydantic-core", "orjson"} <= packages


def _real_elf() -> bytes:
    import sys

    return Path(sys.executable).resolve().read_bytes()


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        (10, "truncated: 10 bytes, shorter than an ELF header"),
        (200, "truncated: its headers point past the end of the file (200 bytes)"),
        (-1, "its header names no known ELF class and byte order"),
    ],
)
def test_truncated_or_garbage_elf_is_a_verification_error_naming_the_file(
    tmp_path: Path, cut: int, reason: str
) -> None:
    data = _real_elf()
    broken = data[:cut] if cut > 0 else b"\x7fELF\x09\x09" + bytes(range(200))
    package = tmp_path / "fastlib"
    package.mkdir()
    (package / "_speed.so").write_bytes(broken)
    info = tmp_path / "fastlib-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("fastlib/_speed.so,,\n")
    with pytest.raises(VerificationError) as error:
        check_binaries(tmp_path, _target("python3.13"))
    assert error.value.message == f"fastlib/_speed.so (fastlib) is not a valid ELF file: {reason}"
    assert error.value.hint == "reinstall fastlib: clear its cached copy with `uv cache clean fastlib` and build again"


def test_broken_elf_in_application_code_has_the_project_hint(tmp_path: Path) -> None:
    (tmp_path / "tool").write_bytes(_real_elf()[:100])
    (tmp_path / "tool").chmod(0o755)
    with pytest.raises(VerificationError) as error:
        check_binaries(tmp_path, _target("python3.13"))
    assert error.value.message.startswith("tool (tool) is not a valid ELF file: truncated")
    assert error.value.hint == "the file is part of the project: replace it with a complete copy, or exclude it"


def test_sections_pointing_nowhere_are_reported(tmp_path: Path) -> None:
    import struct

    data = bytearray(_real_elf())
    struct.pack_into("<Q", data, 0x28, len(data) - 8)  # section table past the end
    (tmp_path / "x.so").write_bytes(bytes(data))
    with pytest.raises(VerificationError, match=r"^x\.so \(x\.so\) is not a valid ELF file: truncated"):
        check_binaries(tmp_path, _target("python3.13"))
