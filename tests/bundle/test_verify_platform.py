"""Platform checks of staged files: wheel tags, ELF machine and glibc, foreign extensions and
editable installs (bundle/verify/platform_checks.py, bundle/verify/elf.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from uv_lambda.bundle.verify.elf import read_elf
from uv_lambda.bundle.verify.platform_checks import Target, check_binaries, check_no_build_paths, check_wheel_tags
from uv_lambda.errors import VerificationError
from uv_lambda.runtimes import Architecture, get_architecture, get_runtime


def _wheel(root: Path, name: str, *tags: str) -> None:
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "WHEEL").write_text("Wheel-Version: 1.0\n" + "".join(f"Tag: {tag}\n" for tag in tags))


@pytest.mark.parametrize(
    ("tags", "runtime", "arch", "ok"),
    [
        (["py3-none-any"], "python3.11", "x86_64", True),
        (["cp313-cp313-manylinux_2_34_x86_64"], "python3.13", "x86_64", True),
        (["cp313-cp313-manylinux_2_34_x86_64"], "python3.13", "arm64", False),
        (["cp311-cp311-manylinux_2_28_x86_64"], "python3.11", "x86_64", False),  # glibc 2.26
        (
            ["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"],
            "python3.11",
            "x86_64",
            True,
        ),
        (["cp312-cp312-manylinux_2_17_aarch64"], "python3.13", "arm64", False),  # other CPython
        (["cp39-abi3-manylinux_2_17_aarch64"], "python3.13", "arm64", True),
        (["cp313-cp313-linux_x86_64"], "python3.13", "x86_64", False),
        (["cp313-cp313-macosx_11_0_arm64"], "python3.13", "arm64", False),
        (["cp313-cp313-musllinux_1_2_x86_64"], "python3.13", "x86_64", False),
    ],
)
def test_wheel_tag_rules(tmp_path: Path, tags: list[str], runtime: str, arch: str, ok: bool) -> None:
    _wheel(tmp_path, "pkg", *tags)
    target = Target(get_runtime(runtime), get_architecture(arch))
    if ok:
        check_wheel_tags(tmp_path, target)
    else:
        with pytest.raises(VerificationError, match="pkg"):
            check_wheel_tags(tmp_path, target)


def test_real_host_binary_needs_newer_glibc_than_amazon_linux_2(tmp_path: Path) -> None:
    # This machine's /bin/ls links against glibc 2.34+ (Debian 12): fine on AL2023, not on AL2.
    binary = tmp_path / "tool" / "ls"
    binary.parent.mkdir()
    shutil.copy("/bin/ls", binary)
    info = read_elf(binary)
    assert info.machine == 62 and info.needed_glibc is not None and info.needed_glibc > (2, 26)
    with pytest.raises(VerificationError, match=r"needs GLIBC_2\.\d+, but python3.11"):
        check_binaries(tmp_path, Target(get_runtime("python3.11"), Architecture.X86_64))
    with pytest.raises(VerificationError, match="built for x86_64, not aarch64"):
        check_binaries(tmp_path, Target(get_runtime("python3.13"), Architecture.ARM64))


def test_extension_for_another_python_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mod.cpython-312-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    with pytest.raises(VerificationError, match="another Python"):
        check_binaries(tmp_path, Target(get_runtime("python3.13"), Architecture.X86_64))
    (tmp_path / "mod.cpython-312-x86_64-linux-gnu.so").unlink()
    (tmp_path / "mod.cpython-313-darwin.so").write_bytes(b"\xcf\xfa\xed\xfe")
    with pytest.raises(VerificationError, match="macOS"):
        check_binaries(tmp_path, Target(get_runtime("python3.13"), Architecture.X86_64))


def test_editable_pth_is_refused(tmp_path: Path) -> None:
    (tmp_path / "_library.pth").write_text("/home/me/project/library/src\n")
    with pytest.raises(VerificationError, match="editable install"):
        check_no_build_paths(tmp_path, [Path("/home/me/project")])
