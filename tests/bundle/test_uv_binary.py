"""Which uv binary a build runs, and how its version is learnt (uv.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from uv_lambda import uv


def test_the_bundled_binary_and_version_match_what_it_prints() -> None:
    bundled = uv._bundled_uv()
    assert bundled is not None, "the test environment installs the uv wheel"
    path, version = bundled
    printed = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    assert printed.split()[1] == version
    from uv import find_uv_bin

    assert os.path.samefile(path, find_uv_bin())


def _site_packages(tmp_path: Path, binary_size: int, recorded_size: int | str, *versions: str) -> Path:
    site_packages = tmp_path / "lib" / "python3.11" / "site-packages"
    (tmp_path / "bin").mkdir(parents=True)
    (tmp_path / "bin" / "uv").write_bytes(b"\0" * binary_size)
    for version in versions:
        dist_info = site_packages / f"uv-{version}.dist-info"
        dist_info.mkdir(parents=True)
        (dist_info / "RECORD").write_text(
            f"../../../bin/uvx,sha256=x,10\n../../../bin/uv,sha256=x,{recorded_size}\nuv/__init__.py,sha256=x,1\n"
        )
    site_packages.mkdir(parents=True, exist_ok=True)
    (site_packages / "uv_lambda-0.1.0.dist-info").mkdir()
    return site_packages


def test_the_wheels_record_names_the_binary_and_its_version(tmp_path: Path) -> None:
    site_packages = _site_packages(tmp_path, 64, 64, "0.13.9")
    assert uv.wheel_binary(str(site_packages)) == (str(tmp_path / "bin" / "uv"), "0.13.9")


@pytest.mark.parametrize(
    ("binary_size", "recorded_size", "versions"),
    [
        pytest.param(64, 65, ("0.13.9",), id="binary-replaced-since"),
        pytest.param(64, "", ("0.13.9",), id="no-size-recorded"),
        pytest.param(64, 64, ("0.13.9", "0.14.0"), id="two-dist-infos"),
        pytest.param(64, 64, (), id="no-dist-info"),
    ],
)
def test_a_record_that_does_not_match_is_not_trusted(
    tmp_path: Path, binary_size: int, recorded_size: int | str, versions: tuple[str, ...]
) -> None:
    site_packages = _site_packages(tmp_path, binary_size, recorded_size, *versions)
    assert uv.wheel_binary(str(site_packages)) is None


def test_an_override_is_asked_for_its_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """UV_LAMBDA_UV is run with --version (its answer remembered), whatever the wheel says."""
    fake = tmp_path / "uv"
    fake.write_text("#!/bin/sh\necho 'uv 0.99.1 (0000000 2026-12-01)'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("UV_LAMBDA_UV", str(fake))
    monkeypatch.setenv("UV_LAMBDA_CACHE_DIR", str(tmp_path / "cache"))
    uv.find_uv.cache_clear()
    try:
        assert uv.find_uv() == uv.Uv(fake, "0.99.1")
        assert list((tmp_path / "cache" / "memo").glob("uv-version-*"))
    finally:
        uv.find_uv.cache_clear()
