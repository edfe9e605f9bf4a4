"""Checks that an installed tree will load on the target runtime, before any artifact exists.

Each problem names the package and file and says what to do. The rules:
- every wheel's tags fit the target (no `linux_*` wheels built on this machine, no other
  platform, no manylinux newer than the runtime's glibc, no other CPython);
- every ELF file is for the target machine and needs no newer GLIBC_x.y than the runtime has;
- every extension module is for the target CPython ABI;
- no file refers to a path of the build machine (editable `.pth`, `direct_url.json`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from uv_lambda.elf import NotElf, is_elf, read_elf
from uv_lambda.errors import VerificationError
from uv_lambda.runtimes import Architecture, Runtime

_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_EXTENSION = re.compile(r"\.cpython-(\d+)[a-z]*-([a-z0-9_]+)-linux-gnu\.so$")


@dataclass(frozen=True)
class Target:
    runtime: Runtime
    architecture: Architecture


def distribution_of_files(root: Path) -> dict[str, str]:
    """Map each top-level name in a site-packages tree to the distribution that installed it."""
    owners: dict[str, str] = {}
    for record in root.glob("*.dist-info/RECORD"):
        name = record.parent.name.removesuffix(".dist-info").rsplit("-", 1)[0]
        for line in record.read_text(errors="replace").splitlines():
            top = line.split(",", 1)[0].split("/", 1)[0]
            if top and not top.endswith(".dist-info"):
                owners.setdefault(top, name)
        owners[record.parent.name] = name
    return owners


def _owner(root: Path, path: Path, owners: dict[str, str]) -> str:
    parts = path.relative_to(root).parts
    top = parts[0]
    if top == "__pycache__" and len(parts) == 2:  # bytecode of a top-level module
        top = parts[1].split(".", 1)[0] + ".py"
    return owners.get(top, top)


def _platform_fits(platform: str, target: Target) -> bool:
    if platform == "any":
        return True
    machine = target.architecture.machine
    for legacy, glibc in _LEGACY_MANYLINUX.items():
        if platform == f"{legacy}_{machine}":
            return glibc <= target.runtime.glibc
    match = _MANYLINUX.match(platform)
    if match:
        glibc = (int(match.group(1)), int(match.group(2)))
        return match.group(3) == machine and glibc <= target.runtime.glibc
    return False


def _python_fits(interpreter: str, abi: str, target: Target) -> bool:
    wanted = target.runtime.python_tag
    if interpreter.startswith("py"):
        return True
    if interpreter.startswith("cp"):
        if abi == "abi3":
            return int(interpreter[2:]) <= int(wanted)
        return interpreter[2:] == wanted
    return False


def check_wheel_tags(root: Path, target: Target) -> None:
    for wheel_file in sorted(root.glob("*.dist-info/WHEEL")):
        distribution = wheel_file.parent.name.rsplit("-", 1)[0]
        tags = [
            line.split(":", 1)[1].strip() for line in wheel_file.read_text().splitlines() if line.startswith("Tag:")
        ]
        fits = False
        for tag in tags:
            parts = tag.split("-")
            if len(parts) != 3:
                continue
            interpreter, abi, platform = parts
            if _platform_fits(platform, target) and _python_fits(interpreter, abi, target):
                fits = True
        if fits or not tags:
            continue
        shown = ", ".join(tags)
        if any(tag.endswith(("linux_x86_64", "linux_aarch64")) and "manylinux" not in tag for tag in tags):
            raise VerificationError(
                f"{distribution} was built on this machine ({shown}) and may not load on {target.runtime.name}",
                f"use a version of {distribution} that publishes a manylinux wheel for "
                f"{target.architecture.machine}, or build it in an Amazon Linux image",
            )
        raise VerificationError(
            f"{distribution} has no wheel for {target.runtime.name} on {target.architecture.value} "
            f"(installed: {shown})",
            f"pin a version of {distribution} with a {target.runtime.manylinux} wheel, or choose another runtime",
        )


def check_binaries(root: Path, target: Target, owners: dict[str, str] | None = None) -> None:
    owners = owners if owners is not None else distribution_of_files(root)
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        name = path.name
        if name.endswith((".pyd", ".dylib")) or "-darwin.so" in name:
            raise VerificationError(
                f"{path.relative_to(root)} ({_owner(root, path, owners)}) is a Windows/macOS binary",
                "remove it, or depend on a package with Linux wheels",
            )
        extension = _EXTENSION.search(name)
        if extension and (
            extension.group(1) != target.runtime.python_tag or extension.group(2) != target.architecture.machine
        ):
            raise VerificationError(
                f"{path.relative_to(root)} ({_owner(root, path, owners)}) is an extension for another "
                f"Python or machine, not CPython {target.runtime.python_version} on {target.architecture.machine}",
                "rebuild; if it comes from your own code, do not commit compiled files",
            )
        if not (name.endswith(".so") or ".so." in name or path.stat().st_mode & 0o111):
            continue
        if not is_elf(path):
            continue
        try:
            info = read_elf(path)
        except (NotElf, ValueError, IndexError):
            continue
        owner = _owner(root, path, owners)
        if info.machine != target.architecture.elf_machine:
            raise VerificationError(
                f"{path.relative_to(root)} ({owner}) is built for {info.machine_name}, "
                f"not {target.architecture.machine}",
                f"install {owner} for {target.architecture.value} (check exclude/include and committed binaries)",
            )
        if info.needed_glibc and info.needed_glibc > target.runtime.glibc:
            needed = ".".join(map(str, info.needed_glibc))
            have = ".".join(map(str, target.runtime.glibc))
            raise VerificationError(
                f"{path.relative_to(root)} ({owner}) needs GLIBC_{needed}, but {target.runtime.name} "
                f"({target.runtime.os_name}) has glibc {have}",
                f"pin an older {owner} with a manylinux wheel for glibc {have}, or use python3.12 or newer",
            )


def check_no_build_paths(root: Path, build_paths: Iterable[Path]) -> None:
    """No file may point into the build machine: such a function breaks on Lambda."""
    needles = [str(path).encode() for path in build_paths if len(str(path)) > 1]
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix in {".pyc", ".so"} or path.stat().st_size > 1 << 20:
            continue
        if path.name == "direct_url.json":
            raise VerificationError(
                f"{path.relative_to(root)} records where a package was installed from",
                "this is installer metadata; report it: uv-lambda installs with --no-installer-metadata",
            )
        data = path.read_bytes()
        for needle in needles:
            if needle in data:
                kind = "an editable install" if path.suffix == ".pth" else "a build-machine path"
                raise VerificationError(
                    f"{path.relative_to(root)} contains {kind} ({needle.decode()})",
                    "workspace members must be installed non-editable; remove absolute paths from the file",
                )


def check_tree(root: Path, target: Target, build_paths: Iterable[Path]) -> None:
    check_wheel_tags(root, target)
    check_binaries(root, target)
    check_no_build_paths(root, build_paths)


def package_sizes(root: Path) -> dict[str, int]:
    """Unzipped bytes per distribution (by top-level name) of an installed tree."""
    from uv_lambda.project import normalize_name

    owners = distribution_of_files(root)
    sizes: dict[str, int] = defaultdict(int)
    for path in root.rglob("*"):
        if path.is_file():
            sizes[normalize_name(_owner(root, path, owners))] += path.stat().st_size
    return dict(sizes)
