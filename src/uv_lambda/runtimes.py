"""The runtime table: the single source of truth for what each Lambda Python runtime is.

Everything that depends on the runtime or the architecture (uv's --python-platform,
the glibc ceiling that verification enforces, the base image) reads it from here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from uv_lambda.errors import UsageError


class Architecture(StrEnum):
    X86_64 = "x86_64"
    ARM64 = "arm64"

    @property
    def machine(self) -> str:
        """The machine name as wheel tags, uv and `uname -m` spell it."""
        return "x86_64" if self is Architecture.X86_64 else "aarch64"

    @property
    def elf_machine(self) -> int:
        """ELF e_machine: EM_X86_64 = 62, EM_AARCH64 = 183."""
        return 62 if self is Architecture.X86_64 else 183

    @property
    def oci_name(self) -> str:
        """The architecture as OCI image configs and indexes spell it."""
        return "amd64" if self is Architecture.X86_64 else "arm64"


@dataclass(frozen=True)
class Runtime:
    name: str  # "python3.13", as Lambda's Runtime field spells it
    python_version: str  # "3.13"
    os_name: str  # "Amazon Linux 2023"
    glibc: tuple[int, int]  # the newest glibc symbol version the runtime can satisfy
    manylinux: str  # the widest manylinux tag uv can name that is safe on that glibc
    deprecated_on: dt.date

    @property
    def python_tag(self) -> str:
        """The CPython tag of extension modules and bytecode: "313" for 3.13."""
        return self.python_version.replace(".", "")

    @property
    def python_full_version(self) -> str:
        """The full version markers are evaluated with and uv installs for: "3.13.0".

        Lambda moves each runtime to new patch releases without notice, so no later patch
        is known at build time; the first one is the floor every Lambda patch satisfies, and
        it is what uv assumes for `--python-version 3.13`, so both read markers alike.
        """
        return f"{self.python_version}.0"

    @property
    def site_packages(self) -> str:
        """Where a layer puts packages, relative to the layer root (unzipped to /opt)."""
        return f"python/lib/python{self.python_version}/site-packages"

    def uv_platform(self, arch: Architecture) -> str:
        """The value of uv's --python-platform for this runtime on `arch`."""
        return f"{arch.machine}-{self.manylinux}"

    def base_image(self, arch: Architecture) -> str:
        """AWS's base image; the untagged-architecture name is the x86_64 one, as in uv's guide."""
        suffix = "" if arch is Architecture.X86_64 else "-arm64"
        return f"public.ecr.aws/lambda/python:{self.python_version}{suffix}"

    def is_deprecated(self, today: dt.date | None = None) -> bool:
        return (today or dt.date.today()) >= self.deprecated_on


# uv names no manylinux_2_26 platform, so Amazon Linux 2 (glibc 2.26) runtimes use the
# widest older tag, manylinux_2_17 (= manylinux2014); verification still checks the real
# GLIBC_x.y symbol versions against 2.26.
_AL2 = ("Amazon Linux 2", (2, 26), "manylinux_2_17")
_AL2023 = ("Amazon Linux 2023", (2, 34), "manylinux_2_34")

RUNTIMES: dict[str, Runtime] = {
    runtime.name: runtime
    for runtime in (
        Runtime("python3.10", "3.10", *_AL2, dt.date(2026, 6, 30)),
        Runtime("python3.11", "3.11", *_AL2, dt.date(2026, 6, 30)),
        Runtime("python3.12", "3.12", *_AL2023, dt.date(2028, 10, 31)),
        Runtime("python3.13", "3.13", *_AL2023, dt.date(2029, 6, 30)),
        Runtime("python3.14", "3.14", *_AL2023, dt.date(2029, 6, 30)),
    )
}

# The boto3 (and botocore, same version) each runtime ships in /var/runtime: the local
# runner installs it (`runtime-sdk = "bundled"`). APPROXIMATE: AWS updates it without notice
# and it varies by region and image; confirm with `boto3.__version__` in a deployed function,
# or pin `runtime-sdk = "<version>"`. Recorded on the date below.
BUNDLED_SDK_RECORDED = dt.date(2026, 12, 6)
BUNDLED_SDK: dict[str, str] = {
    "python3.10": "1.38.36",
    "python3.11": "1.38.36",
    "python3.12": "1.40.4",
    "python3.13": "1.40.4",
    "python3.14": "1.40.4",
}

# Runtimes Lambda has retired for new functions: named so the error can say so.
RETIRED = {"python2.7", "python3.6", "python3.7", "python3.8", "python3.9"}


def supported_names() -> str:
    return ", ".join(RUNTIMES)


def get_runtime(name: str) -> Runtime:
    """Look up a runtime by its Lambda name ("python3.13"); "3.13" is accepted too."""
    key = name if name.startswith("python") else f"python{name}"
    if key in RUNTIMES:
        return RUNTIMES[key]
    if key in RETIRED:
        raise UsageError(
            f"runtime {name} is deprecated by AWS Lambda and not supported",
            f"use one of: {supported_names()}",
        )
    raise UsageError(f"unknown runtime {name!r}", f"use one of: {supported_names()}")


def get_architecture(name: str) -> Architecture:
    """An architecture by its Lambda name, or as machines (aarch64) and OCI (amd64) spell it."""
    for architecture in Architecture:
        if name in (architecture.value, architecture.machine, architecture.oci_name):
            return architecture
    raise UsageError(f"unknown architecture {name!r}", "use x86_64 or arm64")
