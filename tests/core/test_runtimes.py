"""The runtime table: platforms, glibc, base images and the names it accepts."""

from __future__ import annotations

import pytest

from uv_lambda.errors import UsageError
from uv_lambda.runtimes import RUNTIMES, Architecture, get_architecture, get_runtime


def test_runtime_table_platforms_and_images() -> None:
    assert list(RUNTIMES) == ["python3.10", "python3.11", "python3.12", "python3.13", "python3.14"]
    assert get_runtime("python3.11").uv_platform(Architecture.X86_64) == "x86_64-manylinux_2_17"
    assert get_runtime("3.13").uv_platform(Architecture.ARM64) == "aarch64-manylinux_2_34"
    assert get_runtime("python3.12").glibc == (2, 34) and get_runtime("python3.10").glibc == (2, 26)
    assert get_runtime("python3.13").base_image(Architecture.X86_64) == "public.ecr.aws/lambda/python:3.13"
    assert get_runtime("python3.13").base_image(Architecture.ARM64) == "public.ecr.aws/lambda/python:3.13-arm64"
    assert get_runtime("python3.13").site_packages == "python/lib/python3.13/site-packages"
    assert get_architecture("aarch64") is Architecture.ARM64
    with pytest.raises(UsageError, match="deprecated"):
        get_runtime("python3.9")
    with pytest.raises(UsageError, match="unknown architecture"):
        get_architecture("mips")
