"""Checks that an installed tree will load on the target runtime, before any artifact exists.

Each problem names the package and file and says what to do. The rules:
- every wheel's tags fit the target (no `linux_*` wheels built on this machine, no other
  platform, no manylinux newer than the runtime's glibc, no other CPython);
- every ELF file is for the target machine and needs no newer GLIBC_x.y than the runtime has;
- every extension module is for the target CPython ABI;
- no file refers to a path of the build machine (editable `.pth`, `direct_url.json`).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag
from packaging.utils import canonicalize_name

from uv_lambda.bundle.verify.elf import BadElf, NotElf, is_elf, read_elf
from uv_lambda.errors import VerificationError
from uv_lambda.runtimes import Architecture, Runtime

_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
# The ABI flags after the version: none for a standard CPython 3.8+, "t" free-threaded, "d" debug.
_EXTENSION = re.compile(r"\.cpython-(\d+)([a-z]*)-([a-z0-9_]+)-linux-gnu\.so$")


@dataclass(frozen=True)
class Target:
    runtime: Runtime
    architecture: Architecture


def distribution_of_files(root: Path) -> dict[str, str]:
    """Map each top-level name in a site-packages tree to the distribution that installed it."""
    owners: dict[str, str] = {}
    for record in root.glob("*.dist-info/RECORD"):
        name = dist_info_name(record.parent.name)
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


def _platforms(target: Target) -> list[str]:
    """Every platform tag that loads on the target: manylinux up to the runtime's glibc,
    in both the PEP 600 spelling and the legacy aliases (manylinux2014 = manylinux_2_17)."""
    machine = target.architecture.machine
    major, newest = target.runtime.glibc
    platforms = [f"manylinux_{major}_{minor}_{machine}" for minor in range(newest, 4, -1)]
    platforms += [f"{legacy}_{machine}" for legacy, glibc in _LEGACY_MANYLINUX.items() if glibc <= target.runtime.glibc]
    return platforms


@functools.cache
def supported_tags(target: Target) -> frozenset[Tag]:
    """The wheel tags the target's CPython accepts, as pip and uv compute them: the runtime's
    own ABI (not the free-threaded `cp313t`), abi3 from older CPythons, and pure wheels."""
    version = tuple(int(part) for part in target.runtime.python_version.split("."))
    interpreter = f"cp{target.runtime.python_tag}"
    platforms = _platforms(target)
    return frozenset(
        [
            *cpython_tags(version, abis=[interpreter], platforms=platforms),
            *compatible_tags(version, interpreter=interpreter, platforms=platforms),
        ]
    )


def dist_info_name(folder: str) -> str:
    """The canonical distribution name of a `.dist-info` folder (`pydantic_core-2.27.2.dist-info`)."""
    stem = folder.removesuffix(".dist-info")
    name = stem.rsplit("-", 1)[0] if "-" in stem else stem
    return canonicalize_name(name)


def wheel_tags(wheel_file: Path) -> tuple[list[str], set[Tag]]:
    """The `Tag:` lines of a WHEEL file as written, and every tag they stand for: one line
    may hold a compressed set (`cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64`)."""
    lines = [
        line.split(":", 1)[1].strip()
        for line in wheel_file.read_text(errors="replace").splitlines()
        if line.startswith("Tag:")
    ]
    tags: set[Tag] = set()
    for line in lines:
        try:
            tags |= parse_tag(line)
        except ValueError:  # not interpreter-abi-platform: fits nothing
            continue
    return lines, tags


def check_wheel_tags(root: Path, target: Target) -> None:
    supported = supported_tags(target)
    for wheel_file in sorted(root.glob("*.dist-info/WHEEL")):
        distribution = dist_info_name(wheel_file.parent.name)
        lines, tags = wheel_tags(wheel_file)
        if not lines or tags & supported:
            continue
        shown = ", ".join(lines)
        if any(tag.platform in ("linux_x86_64", "linux_aarch64") for tag in tags):
            raise VerificationError(
                f"{distribution} was built on this machine ({shown}) and may not load on {target.runtime.name}",
                f"depend on a {distribution} release with a manylinux {target.architecture.machine} wheel, or "
                "build its wheel in a manylinux or Amazon Linux container and depend on that file",
            )
        if any(tag.abi.endswith("t") and tag.abi.startswith("cp") for tag in tags):
            raise VerificationError(
                f"{distribution} is built for free-threaded CPython ({shown}), "
                f"not the standard CPython of {target.runtime.name}",
                f"install the standard cp{target.runtime.python_tag} wheel of {distribution} "
                "(check the lock's sources and any --python given to uv)",
            )
        raise VerificationError(
            f"{distribution} has no wheel for {target.runtime.name} on {target.architecture.value} "
            f"(installed: {shown})",
            f"pin a version of {distribution} with a {target.runtime.manylinux} {target.architecture.machine} wheel "
            f"for CPython {target.runtime.python_version}, or choose another runtime",
        )


def _hint(owner: str, owners: dict[str, str], for_package: str, for_project: str) -> str:
    """The remedy for a file installed by a distribution, or for one of the project's own."""
    return for_package if owner in owners.values() else for_project


_PROJECT_BINARY = "the file is part of the project: leave it out with `exclude`, or "


class _File(NamedTuple):
    """A file of the tree being checked: a regular file, or a symbolic link to one."""

    relative: str  # posix path under the root
    path: Path
    mode: int  # of the file a link points to
    size: int
    link: bool


def _files(root: Path) -> list[_File]:
    """Every file under `root`, sorted by relative path, without entering linked folders (as
    rglob): one walk with os.scandir for all checks, where rglob, is_file and stat per file
    cost more than the checks themselves."""
    found: list[_File] = []
    pending = [("", str(root))]
    while pending:
        prefix, folder = pending.pop()
        with os.scandir(folder) as listing:
            for entry in listing:
                relative = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    pending.append((relative + "/", entry.path))
                elif entry.is_file():  # follows a link, as the archive will
                    info = entry.stat()
                    link = entry.is_symlink()
                    found.append(_File(relative, Path(entry.path), info.st_mode, info.st_size, link))
    found.sort()
    return found


def check_binaries(
    root: Path, target: Target, owners: dict[str, str] | None = None, files: list[_File] | None = None
) -> None:
    owners = owners if owners is not None else distribution_of_files(root)
    machine = target.architecture.machine
    python = f"CPython {target.runtime.python_version}"
    for file in files if files is not None else _files(root):
        if file.link:
            continue
        name = file.path.name
        path = file.path
        is_foreign = name.endswith((".pyd", ".dylib")) or "-darwin.so" in name
        extension = _EXTENSION.search(name)
        wrong_extension = extension is not None and (
            extension.group(1) != target.runtime.python_tag or extension.group(2) or extension.group(3) != machine
        )
        if not (is_foreign or wrong_extension or name.endswith(".so") or ".so." in name or file.mode & 0o111):
            continue
        # Worked out only for a file that may be reported: most files are plain modules.
        owner = _owner(root, path, owners)
        where = f"{file.relative} ({owner})"
        if is_foreign:
            raise VerificationError(
                f"{where} is a Windows/macOS binary",
                _hint(
                    owner,
                    owners,
                    f"{owner}'s wheel ships it: pin a {owner} release whose Linux wheel has none, "
                    "or report it to its maintainers",
                    _PROJECT_BINARY + f"replace it with a Linux {machine} build",
                ),
            )
        if wrong_extension:
            raise VerificationError(
                f"{where} is an extension for another Python or machine, not {python} on {machine}",
                _hint(
                    owner,
                    owners,
                    f"{owner}'s wheel is mislabelled: pin another {owner} release, or report it to its maintainers",
                    _PROJECT_BINARY + f"build it for {python} on {machine}",
                ),
            )
        if not is_elf(path):
            continue
        try:
            info = read_elf(path)
        except NotElf:
            continue
        except BadElf as exc:
            raise VerificationError(
                f"{where} is not a valid ELF file: {exc.reason}",
                _hint(
                    owner,
                    owners,
                    f"reinstall {owner}: clear its cached copy with `uv cache clean {owner}` and build again",
                    "the file is part of the project: replace it with a complete copy, or exclude it",
                ),
            ) from None
        if info.machine != target.architecture.elf_machine:
            raise VerificationError(
                f"{where} is built for {info.machine_name}, not {machine}",
                _hint(
                    owner,
                    owners,
                    f"{owner}'s wheel is mislabelled: pin another {owner} release, or report it to its maintainers",
                    _PROJECT_BINARY + f"replace it with a build for {machine}",
                ),
            )
        if info.needed_glibc and info.needed_glibc > target.runtime.glibc:
            needed = ".".join(map(str, info.needed_glibc))
            have = ".".join(map(str, target.runtime.glibc))
            newer = ", or use python3.12 or newer (glibc 2.34)" if target.runtime.glibc < (2, 34) else ""
            raise VerificationError(
                f"{where} needs GLIBC_{needed}, but {target.runtime.name} ({target.runtime.os_name}) has glibc {have}",
                _hint(
                    owner,
                    owners,
                    f"pin a {owner} release whose manylinux wheel needs glibc {have} or older{newer}",
                    _PROJECT_BINARY
                    + f"build it against glibc {have} (in a manylinux or Amazon Linux container)"
                    + newer,
                ),
            )


def check_no_build_paths(root: Path, build_paths: Iterable[Path], files: list[_File] | None = None) -> None:
    """No file may point into the build machine: such a function breaks on Lambda."""
    needles = [str(path).encode() for path in build_paths if len(str(path)) > 1]
    for file in files if files is not None else _files(root):
        if file.relative.endswith((".pyc", ".so")) or file.size > 1 << 20:
            continue
        if file.path.name == "direct_url.json":
            raise VerificationError(
                f"{file.relative} records where a package was installed from",
                "this is installer metadata; report it: uv-lambda installs with --no-installer-metadata",
            )
        data = file.path.read_bytes()
        for needle in needles:
            if needle in data:
                kind = "an editable install" if file.relative.endswith(".pth") else "a build-machine path"
                raise VerificationError(
                    f"{file.relative} contains {kind} ({needle.decode()})",
                    "workspace members must be installed non-editable; remove absolute paths from the file",
                )


def check_tree(root: Path, target: Target, build_paths: Iterable[Path]) -> None:
    check_wheel_tags(root, target)
    files = _files(root)
    check_binaries(root, target, files=files)
    check_no_build_paths(root, build_paths, files)
