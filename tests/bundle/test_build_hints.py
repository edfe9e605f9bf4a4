"""Every build error's hint applies to its case: the hint text of each error kind, for the
cases that differ (Amazon Linux 2 or 2023, a package's file or the project's own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from uv_lambda.bundle.install.dependencies import explain_install_failure
from uv_lambda.bundle.verify.platform_checks import Target, check_binaries
from uv_lambda.errors import CommandError, VerificationError
from uv_lambda.runtimes import Architecture, get_runtime

# uv 0.13.9's own words for each case (captured from real runs).
NO_PLATFORM_WHEEL = """error: No solution found when resolving dependencies
  cause: Because pywin32==310 has no wheels with a matching platform tag (e.g., `manylinux_2_34_x86_64`) and you \
require pywin32==310, we can conclude that your requirements are unsatisfiable.

hint: Wheels are available for `pywin32` (v310) on the following platforms: `win32`, `win_amd64`, `win_arm64`
"""
NO_USABLE_WHEEL = """error: No solution found when resolving dependencies
  cause: Because pydantic-core==2.27.2 has no usable wheels and you require pydantic-core==2.27.2, we can conclude \
that your requirements are unsatisfiable.
"""
NO_VERSION = """error: No solution found when resolving dependencies
  cause: Because there is no version of idna==3.10 and you require idna==3.10, we can conclude that your \
requirements are unsatisfiable.

hint: `idna` was filtered by `exclude-newer` to only include packages uploaded before 2019-01-01T00:00:00Z.
"""
NETWORK = """error: Request failed after 3 retries
  cause: error sending request for url (https://pypi.org/simple/idna/)
  cause: dns error
"""


def _failure(output: str, runtime: str = "python3.13", arch: Architecture = Architecture.X86_64) -> tuple[str, str]:
    exc = CommandError("installing dependencies failed (exit 1): No solution found", None, output)
    error = explain_install_failure(exc, get_runtime(runtime), arch)
    assert error.hint is not None
    return error.message, error.hint


def test_no_wheel_for_the_platform_on_amazon_linux_2023() -> None:
    message, hint = _failure(NO_PLATFORM_WHEEL)
    assert message == (
        "pywin32 310 has no wheel for python3.13 on x86_64 (x86_64-manylinux_2_34) "
        "(its wheels are for `win32`, `win_amd64`, `win_arm64`)"
    )
    # Already on the newest glibc: no "newer runtime" remedy.
    assert hint == "pin a pywin32 release with a manylinux x86_64 wheel for CPython 3.13 that needs glibc 2.34 or older"


def test_no_wheel_for_the_platform_on_amazon_linux_2() -> None:
    _, hint = _failure(NO_PLATFORM_WHEEL, "python3.11", Architecture.ARM64)
    assert hint == (
        "pin a pywin32 release with a manylinux_2_17 aarch64 wheel for CPython 3.11, "
        "or use python3.12 or newer (Amazon Linux 2023 takes manylinux_2_34 wheels)"
    )


def test_no_wheel_for_the_python_version() -> None:
    message, hint = _failure(NO_USABLE_WHEEL, "python3.14")
    assert message == "pydantic-core 2.27.2 has no wheel for python3.14 on x86_64 (x86_64-manylinux_2_34)"
    assert hint == (
        "pin a pydantic-core release that publishes wheels for CPython 3.14, "
        "or choose a runtime that pydantic-core has wheels for"
    )


def test_pinned_version_not_offered_by_the_index() -> None:
    message, hint = _failure(NO_VERSION)
    assert message == "idna 3.10, pinned by uv.lock, is not offered by the project's package index"
    assert hint == (
        "the lock was made with other settings: check `exclude-newer` and the indexes in [tool.uv] "
        "(pyproject.toml or uv.toml), then run `uv lock`"
    )


def test_network_failure_blames_the_network() -> None:
    _, hint = _failure(NETWORK)
    assert hint == (
        "uv could not reach the package index: check the network, the proxy (HTTPS_PROXY) and the indexes in [tool.uv]"
    )


REFUSED = """error: Failed to fetch: `https://pypi.corp.example/simple/corplib/`
  cause: HTTP status client error (401 Unauthorized) for url (https://pypi.corp.example/simple/corplib/)
"""


def test_an_index_refusing_credentials_is_not_blamed_on_the_network() -> None:
    # uv's "Failed to fetch" matches the network pattern too: the refusal is checked first.
    message, hint = _failure(REFUSED)
    assert message.endswith("the package index refused https://pypi.corp.example/simple/corplib/ (401 Unauthorized)")
    assert hint.startswith("give uv the index's credentials") and "UV_INDEX_<NAME>_PASSWORD" in hint
    assert "could not reach" not in hint
    _, hint = _failure(REFUSED.replace("401 Unauthorized", "403 Forbidden"))
    assert "UV_INDEX_<NAME>_USERNAME" in hint


def test_other_failure_sends_to_uvs_output() -> None:
    _, hint = _failure("error: something else entirely\n")
    assert hint == (
        "run with -v to see uv's whole output; if a requirement is at fault, fix it in pyproject.toml and run `uv lock`"
    )


def _tree(root: Path, relative: str, data: bytes, owner: str | None) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o755)
    if owner:
        info = root / f"{owner}-1.0.dist-info"
        info.mkdir(exist_ok=True)
        (info / "RECORD").write_text(f"{relative},,\n")


def _hint(root: Path, runtime: str, arch: Architecture = Architecture.X86_64) -> tuple[str, str]:
    with pytest.raises(VerificationError) as error:
        check_binaries(root, Target(get_runtime(runtime), arch))
    assert error.value.hint is not None
    return error.value.message, error.value.hint


HOST_BINARY = Path("/bin/ls").read_bytes()  # Debian 12: needs a glibc newer than 2.26


@pytest.mark.parametrize(
    ("runtime", "owner", "hint"),
    [
        (
            "python3.11",
            "fastlib",
            "pin a fastlib release whose manylinux wheel needs glibc 2.26 or older, or use python3.12 or newer "
            "(glibc 2.34)",
        ),
        (
            "python3.11",
            None,
            "the file is part of the project: leave it out with `exclude`, or build it against glibc 2.26 "
            "(in a manylinux or Amazon Linux container), or use python3.12 or newer (glibc 2.34)",
        ),
    ],
)
def test_glibc_hints(tmp_path: Path, runtime: str, owner: str | None, hint: str) -> None:
    _tree(tmp_path, "fastlib/tool", HOST_BINARY, owner)
    message, actual = _hint(tmp_path, runtime)
    assert "needs GLIBC_2." in message
    assert actual == hint


def test_wrong_machine_hints(tmp_path: Path) -> None:
    _tree(tmp_path / "a", "fastlib/_x.so", HOST_BINARY, "fastlib")
    message, hint = _hint(tmp_path / "a", "python3.13", Architecture.ARM64)
    assert message == "fastlib/_x.so (fastlib) is built for x86_64, not aarch64"
    assert hint == "fastlib's wheel is mislabelled: pin another fastlib release, or report it to its maintainers"
    _tree(tmp_path / "b", "bin/tool", HOST_BINARY, None)
    _, hint = _hint(tmp_path / "b", "python3.13", Architecture.ARM64)
    assert hint == (
        "the file is part of the project: leave it out with `exclude`, or replace it with a build for aarch64"
    )


def test_foreign_binary_and_extension_hints(tmp_path: Path) -> None:
    _tree(tmp_path / "a", "lib/_speed.cpython-312-x86_64-linux-gnu.so", b"\x7fELF", "lib")
    _, hint = _hint(tmp_path / "a", "python3.13")
    assert hint == "lib's wheel is mislabelled: pin another lib release, or report it to its maintainers"
    _tree(tmp_path / "b", "native/_speed.cpython-312-x86_64-linux-gnu.so", b"\x7fELF", None)
    _, hint = _hint(tmp_path / "b", "python3.13")
    assert hint == (
        "the file is part of the project: leave it out with `exclude`, or build it for CPython 3.13 on x86_64"
    )
    _tree(tmp_path / "c", "lib/helper.dylib", b"\xcf\xfa\xed\xfe", "lib")
    _, hint = _hint(tmp_path / "c", "python3.13")
    assert hint == "lib's wheel ships it: pin a lib release whose Linux wheel has none, or report it to its maintainers"
