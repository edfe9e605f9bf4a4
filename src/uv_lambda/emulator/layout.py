"""The file system of one local function, laid out as Lambda lays it out.

<root>/task   the unpacked function (or app) zip: /var/task, the working directory
<root>/opt    the layers, unpacked in order (a later layer wins a conflict): /opt

Every archive passes unpack_checks (Lambda's size limit, an entry limit, entries that can be
placed) before the first byte is written.
"""

from __future__ import annotations

import errno
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from uv_lambda.emulator.unpack_checks import Entry, UnpackChecks
from uv_lambda.errors import UsageError, UvLambdaError


@dataclass(frozen=True)
class Layout:
    root: Path
    task_root: Path
    opt: Path
    # A tree of the unpack cache (unpack_cache.py) is released when done with, not removed.
    release: Callable[[], None] | None = None

    def python_path(self, python_version: str, runtime_folder: Path) -> list[Path]:
        """sys.path as Lambda orders it: task root, layer site-packages, /opt/python, runtime."""
        return [
            self.task_root,
            self.opt / "python" / "lib" / f"python{python_version}" / "site-packages",
            self.opt / "python",
            runtime_folder,
        ]

    def remove(self) -> None:
        if self.release is not None:
            self.release()
        else:
            shutil.rmtree(self.root, ignore_errors=True)


# What zipfile raises for an archive it cannot read: a broken central directory or stream
# (BadZipFile, EOFError, zlib.error), an unsupported compression (NotImplementedError), an
# encrypted entry (RuntimeError).
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError)


def _not_a_zip(what: str, archive: Path, exc: BaseException) -> UsageError:
    return UsageError(f"{what} {archive} is not a valid zip file ({exc})", "rebuild it with `uv-lambda build`")


def _open(archive: Path, what: str) -> zipfile.ZipFile:
    if not archive.is_file():
        raise UsageError(f"{what} {archive} does not exist", "build it with `uv-lambda build`")
    try:
        return zipfile.ZipFile(archive)
    except _UNREADABLE as exc:
        raise _not_a_zip(what, archive, exc) from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {archive}: {exc.strerror}", "check its path and permissions") from None


def _extract(bundle: zipfile.ZipFile, entries: Sequence[Entry], archive: Path, destination: Path, what: str) -> None:
    """Write the checked entries of `bundle` (see unpack_checks) under `destination`."""
    written = destination
    try:
        broken = bundle.testzip()  # after the checks: the sizes it decompresses are bounded
        if broken is not None:
            raise zipfile.BadZipFile(f"bad CRC for {broken}")
        for entry in entries:
            written = destination / entry.path  # named in the error if the write fails
            # extract() drops absolute and `..` parts, so a zip cannot write outside.
            written = Path(bundle.extract(entry.info, destination))
            mode = (entry.info.external_attr >> 16) & 0o777
            if not entry.info.is_dir() and mode & stat.S_IXUSR:
                written.chmod(0o755)  # keep executables (layer binaries in /opt/bin) runnable
    except _UNREADABLE as exc:
        raise _not_a_zip(what, archive, exc) from None
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise UvLambdaError(
                f"no space left on device writing {written} (unpacking {what} {archive})",
                f"free space in {tempfile.gettempdir()}, or point TMPDIR at a larger file system",
            ) from None
        raise UvLambdaError(
            f"cannot unpack {what} {archive}: {exc.strerror} ({written})",
            f"check the space and permissions of {tempfile.gettempdir()} (TMPDIR)",
        ) from None


def unpack(code: Path, layers: Sequence[Path] = ()) -> Layout:
    """Unpack the code zip and the layer zips (in order) into a fresh temporary folder."""
    with ExitStack() as open_archives:
        # Every archive is checked before the first byte is written (see unpack_checks).
        checks = UnpackChecks()
        plan: list[tuple[zipfile.ZipFile, list[Entry], Path, str, str]] = []
        for archive, what, folder in [(code, "code zip", "task"), *((layer, "layer", "opt") for layer in layers)]:
            bundle = open_archives.enter_context(_open(archive, what))
            try:
                infos = bundle.infolist()
            except _UNREADABLE as exc:
                raise _not_a_zip(what, archive, exc) from None
            plan.append((bundle, checks.check(archive, infos, what=what, destination=folder), archive, what, folder))
        root = Path(tempfile.mkdtemp(prefix="uv-lambda-run-"))
        layout = Layout(root, root / "task", root / "opt")
        try:
            layout.task_root.mkdir()
            layout.opt.mkdir()
            for bundle, entries, archive, what, folder in plan:
                _extract(bundle, entries, archive, root / folder, what)
        except BaseException:
            layout.remove()
            raise
    return layout
