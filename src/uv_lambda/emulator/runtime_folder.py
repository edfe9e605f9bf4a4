"""The cached folder that plays Lambda's /var/runtime: the real awslambdaric, and boto3.

One folder per (Python version, host machine, requirement set), installed by uv for that
interpreter, under `$UV_LAMBDA_CACHE_DIR/runtimes/` (default `$XDG_CACHE_HOME/uv-lambda`
or `~/.cache/uv-lambda`). It is written to a temporary folder and renamed into place, so a
half-installed runtime is never used and concurrent runs do not step on each other. Its
files are copies (never hard links into uv's cache), and a sealed listing of them (path,
size, mtime) is compared on every use: a folder a function wrote into, or a file damaged
or removed, is installed again. (After one full listing, a check stats the listed files and
the folders' mtimes instead of reading every folder: see runtime_folder_intact.)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
from pathlib import Path
from typing import Any

from uv_lambda import atomic, sealed
from uv_lambda import scratch as scratch_folders
from uv_lambda.cache import cache_root, miss, tree_listing
from uv_lambda.errors import UsageError
from uv_lambda.runtimes import Architecture, get_architecture
from uv_lambda.uv import find_uv

# The runtime interface client Lambda's Python base images ship, pinned so that every run
# uses the same client; changing the pin installs a fresh folder.
AWSLAMBDARIC = "awslambdaric==4.2.2"
BOTO3 = "boto3"
_COMPLETE_MARKER = ".uv-lambda-runtime"


def sdk_requirements(python_version: str, sdk: str = "bundled") -> list[str]:
    """boto3 and botocore as `runtime-sdk` says: "bundled" (the version the runtime ships,
    from runtimes.BUNDLED_SDK; botocore has the same number), "latest" (the newest when the
    folder is made), or a version."""
    from uv_lambda.runtimes import BUNDLED_SDK

    if sdk == "latest":
        return [BOTO3]
    version = BUNDLED_SDK[f"python{python_version}"] if sdk == "bundled" else sdk
    return [f"{BOTO3}=={version}", f"botocore=={version}"]


def requirements(with_boto3: bool, python_version: str = "3.13", sdk: str = "bundled") -> list[str]:
    return [AWSLAMBDARIC, *sdk_requirements(python_version, sdk)] if with_boto3 else [AWSLAMBDARIC]


# Part of the folder's key: a change in how it is installed makes a fresh folder.
_INSTALL_LAYOUT = "bytecode-copies-3"  # 3: a sealed listing in the marker


def folder_name(python_version: str, machine: str, with_boto3: bool, sdk: str = "bundled") -> str:
    wanted = requirements(with_boto3, python_version, sdk)
    key = hashlib.sha256("\n".join([_INSTALL_LAYOUT, *wanted]).encode()).hexdigest()[:12]
    return f"python{python_version}-{machine}-{key}"


def host_machine() -> str:
    """The host's machine as wheel tags spell it (x86_64, aarch64)."""
    # os.uname(), which platform.machine() reads on POSIX (local runs are POSIX-only: fcntl,
    # bwrap), without importing the platform module on every run.
    machine = os.uname().machine.lower()
    try:
        return get_architecture(machine).machine  # "amd64" (Windows), "arm64" (macOS) too
    except UsageError:
        return machine


def host_architecture() -> Architecture:
    """The Lambda architecture of this machine: what a local run builds for and pulls."""
    return Architecture.ARM64 if host_machine() == Architecture.ARM64.machine else Architecture.X86_64


def install_args(
    target: Path, interpreter: Path, with_boto3: bool, python_version: str = "3.13", sdk: str = "bundled"
) -> list[str]:
    """uv's arguments for the runtime folder: the tool's own install, isolated from any
    project's configuration (a caller's `[tool.uv] exclude-newer` would hide awslambdaric)."""
    return [
        "pip",
        "install",
        "--no-config",
        "--quiet",
        "--target",
        str(target),
        "--python",
        str(interpreter),
        # Only wheels: the runtime client must not be compiled against this machine.
        "--only-binary",
        ":all:",
        # Copies, not hard links into uv's cache: a run that writes into the folder (or a
        # `uv cache clean`) must not change the other.
        "--link-mode",
        "copy",
        # Lambda's /var/runtime ships compiled: awslambdaric's import costs ~60 ms more
        # without bytecode (the folder is read-only to the function).
        "--compile-bytecode",
        *requirements(with_boto3, python_version, sdk),
    ]


def ensure_runtime_folder(
    python_version: str, interpreter: Path, *, with_boto3: bool = True, sdk: str = "bundled"
) -> Path:
    """The runtime folder for `python_version` on this machine, installing it on first use."""
    root = cache_root() / "runtimes"
    target = root / folder_name(python_version, host_machine(), with_boto3, sdk)
    if runtime_folder_intact(target):
        return target
    if target.exists():
        miss(target, "its files changed since it was installed")
    root.mkdir(parents=True, exist_ok=True)
    scratch = scratch_folders.make(root, "runtime")
    try:
        find_uv().run(
            install_args(scratch, interpreter, with_boto3, python_version, sdk),
            # A neutral folder: nothing of the caller's project is in the way.
            cwd=root,
            what="installing the local Lambda runtime (awslambdaric)",
            hint=(
                "it is installed from PyPI once per Python version, without reading any uv.toml or "
                "pyproject.toml; check the network, or point UV_DEFAULT_INDEX at a PyPI mirror"
            ),
        )
        listing = {"requirements": requirements(with_boto3, python_version, sdk), "files": tree_listing(scratch)}
        sealed.write(scratch / _COMPLETE_MARKER, listing)
        try:
            published = atomic.publish_folder(scratch, target)
        except OSError:
            published = False
        # Not published: another run finished first, and its folder is as good as ours.
        if not published and not runtime_folder_intact(target):
            raise UsageError(
                f"could not create the runtime folder {target}",
                "run `uv-lambda cache clean` and retry",
            )
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def installed_runtime_folder(python_version: str, *, with_boto3: bool = True, sdk: str = "bundled") -> Path | None:
    """The runtime folder for `python_version` when one was installed (its marker is there),
    not checked yet: an early start runs its gated runtime on it while `runtime_folder_intact`
    checks it (early_start.py); None when there is none."""
    target = cache_root() / "runtimes" / folder_name(python_version, host_machine(), with_boto3, sdk)
    return target if (target / _COMPLETE_MARKER).is_file() else None


def runtime_folder_intact(folder: Path) -> bool:
    """Whether `folder` (a runtime folder) holds what was installed there: every file, at
    its size and mtime, and no other.

    The first check lists the folder (~1,000 folders for boto3's ~2,500 files) and, when
    the listing is the installed one, keeps the mtime of each of its folders beside it
    (`<folder>.folders`, for this marker). Later checks stat those folders and each listed
    file by its path, and read no folder: a folder's mtime is set whenever an entry is
    added to it, removed or renamed (a new file or subfolder, a file replaced), so a folder
    whose mtime is unchanged holds the same names, and a file written in place shows in its
    own size or mtime. What it does not see is what the unpack cache does not either: a
    folder's mtime set back on purpose."""
    marker_path = folder / _COMPLETE_MARKER
    marker = sealed.read_dict(marker_path, "files")
    if marker is None:
        return False
    try:
        status = os.stat(marker_path)
    except OSError:
        return False
    this_marker = [status.st_ino, status.st_size, status.st_mtime_ns]
    files = marker["files"]
    stamps = sealed.read_dict(_folder_stamps(folder), "marker", "folders")
    if stamps is not None and stamps["marker"] == this_marker and _unchanged(folder, files, stamps["folders"]):
        return True
    folders: dict[str, int] = {}
    if files != tree_listing(folder, skip=_COMPLETE_MARKER, folders=folders):
        return False
    with contextlib.suppress(OSError):  # not kept: the next check lists the folder again
        sealed.write(_folder_stamps(folder), {"marker": this_marker, "folders": folders})
    return True


def _folder_stamps(folder: Path) -> Path:
    """Where the mtimes of `folder`'s folders are kept: beside it, so never in its listing."""
    return folder.with_name(f"{folder.name}.folders")


def _unchanged(folder: Path, files: list[list[Any]], folders: dict[str, int]) -> bool:
    """Every folder at its mtime (no entry added, removed or renamed) and every listed file
    at its size and mtime."""
    root = f"{folder}/"
    try:
        for relative, mtime in folders.items():
            status = os.lstat(root + relative)
            if status.st_mtime_ns != mtime or not stat.S_ISDIR(status.st_mode):
                return False
        for relative, size, mtime in files:
            status = os.lstat(root + relative)
            if status.st_size != size or status.st_mtime_ns != mtime:
                return False
    except (OSError, TypeError, ValueError):
        return False
    return True
