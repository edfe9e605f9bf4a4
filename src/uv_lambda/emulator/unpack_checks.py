"""Lambda's rules for unpacking a function's zips, checked before a byte is written.

Lambda unzips a function's code into /var/task and its layers, in order, into /opt, and
refuses a function whose code and layers unzip to more than 250 MB together. A local run
unpacks the same archives. These checks stop, with an error naming the archive and the
entry, what would otherwise fail half-way through with an OSError or fill the disk:

- more than Lambda's 250 MB unzipped, code and layers together (a zip bomb declares
  gigabytes in a few KB);
- more entries than FILE_LIMIT (a bomb of empty entries exhausts inodes and time instead);
- entries that cannot be placed: an entry under a file (`a` and `a/b`), a file where a
  folder is (or the reverse, also across layers), a name with a part longer than a file
  system allows, a file entry whose name is only `/`, `.` or `..` parts.

The sizes checked are the ones the zip's central directory declares: zipfile never writes
more than an entry declares (a longer stream fails its CRC check), so they bound the bytes
written. Paths are the ones zipfile.extract writes (`member_path`): it drops empty, `.` and
`..` parts, which is what keeps an entry like `../../x` inside the destination (zip-slip).
"""

from __future__ import annotations

import os
from collections.abc import Container, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from uv_lambda.errors import UsageError
from uv_lambda.limits import UNZIPPED_LIMIT

if TYPE_CHECKING:  # the unpacker imports zipfile itself, only when it unpacks
    from zipfile import ZipInfo

# Lambda states no limit on the number of files. This one only stops archives built to
# exhaust inodes or time: 250 MB of real code and dependencies holds tens of thousands.
FILE_LIMIT = 100_000
_NAME_MAX = 255  # bytes in one part of a path (ext4, xfs, tmpfs, overlayfs)
_HINT = "rebuild it with `uv-lambda build`, or repack it without that entry"


def member_path(name: str) -> str:
    """Where zipfile.extract writes an entry, relative to its destination ("" is the destination)."""
    return "/".join(part for part in name.split("/") if part not in ("", ".", ".."))


@dataclass(frozen=True)
class Entry:
    info: ZipInfo
    path: str  # member_path of its name


@dataclass
class _Placed:
    folder: bool
    archive: Path


class UnpackChecks:
    """The checks for the archives of one function: its code zip, then each layer, in order.

    Sizes and counts add up over all of them (Lambda's limit is for code and layers
    together); what each path is (file or folder) is kept per destination, so a later layer
    may replace an earlier layer's file, as on Lambda, but not turn a file into a folder.
    """

    def __init__(self, *, unzipped_limit: int = UNZIPPED_LIMIT, file_limit: int = FILE_LIMIT) -> None:
        self.unzipped_limit = unzipped_limit
        self.file_limit = file_limit
        self.unzipped = 0  # bytes declared so far
        self.entries = 0
        self._archives: list[Path] = []
        self._placed: dict[str, dict[str, _Placed]] = {}  # destination -> path -> what is there

    def check(self, archive: Path, infos: Iterable[ZipInfo], *, what: str, destination: str) -> list[Entry]:
        """The entries of `archive` (a `what`: "code zip", "layer") to extract into `destination`.

        `destination` only names the folder ("task", "opt"): archives with the same one share
        their paths. Raises UsageError before anything is written.
        """
        self._archives.append(archive)
        placed = self._placed.setdefault(destination, {})
        entries: list[Entry] = []
        for info in infos:
            self._count(info, archive, what)
            path = _checked_path(info, archive, what)
            _place(placed, path, info, archive, what)
            entries.append(Entry(info, path))
        return entries

    def check_update(
        self,
        archive: Path,
        infos: Iterable[ZipInfo],
        *,
        what: str,
        unchanged: tuple[int, int],
        files: Container[str],
        folders: Container[str],
    ) -> list[Entry]:
        """The new or replaced entries `infos` of `archive`, whose other entries were checked
        when its tree was unpacked: `unchanged` is their (count, bytes); `files` and `folders`
        are the destination's paths once updated. The checks of `check`, on `infos` only."""
        self._archives.append(archive)
        self.entries += unchanged[0]
        self.unzipped += unchanged[1]
        entries: list[Entry] = []
        for info in infos:
            self._count(info, archive, what)
            path = _checked_path(info, archive, what)
            parts = path.split("/")
            under = next(("/".join(parts[:d]) for d in range(1, len(parts)) if "/".join(parts[:d]) in files), None)
            if under is not None:
                message = f"{what} {archive} has an entry {info.filename!r} under {under!r}, which is a file"
                raise UsageError(message, _HINT)
            if path in folders:
                message = f"{what} {archive} has a file entry {info.filename!r}, but {path!r} is a folder"
                raise UsageError(message, _HINT)
            entries.append(Entry(info, path))
        return entries

    def _count(self, info: ZipInfo, archive: Path, what: str) -> None:
        """One more entry, and its bytes: within FILE_LIMIT and Lambda's unzipped limit."""
        self.entries += 1
        if self.entries > self.file_limit:
            raise UsageError(
                f"{self._subject(what, archive)} hold more than {self.file_limit:,} entries",
                "a function this size holds far fewer files: check that it is the archive you meant",
            )
        self.unzipped += info.file_size
        if self.unzipped > self.unzipped_limit:
            raise UsageError(
                f"{self._subject(what, archive)} unzip to {self.unzipped:,} bytes or more (at "
                f"{info.filename!r}): over Lambda's limit of {self.unzipped_limit:,} bytes "
                "for code and layers together",
                "make the function smaller (large data belongs in S3), or build it as a container image",
            )

    def _subject(self, what: str, archive: Path) -> str:
        if len(self._archives) == 1:
            return f"{what} {archive} would"
        return f"{what} {archive} and the archives before it would"


def _checked_path(info: ZipInfo, archive: Path, what: str) -> str:
    name = info.filename  # (zipfile cuts a name at a NUL byte)
    path = member_path(name)
    if not path and not info.is_dir():
        raise UsageError(f"{what} {archive} has a file entry {name!r} that names no file", _HINT)
    for part in path.split("/"):
        # A character takes at most 4 bytes: only a long part can be over the limit.
        if len(part) * 4 > _NAME_MAX and len(os.fsencode(part)) > _NAME_MAX:
            raise UsageError(
                f"{what} {archive} has an entry with a name part over {_NAME_MAX} bytes ({part[:40]!r}...)",
                _HINT,
            )
    return path


def _place(placed: dict[str, _Placed], path: str, info: ZipInfo, archive: Path, what: str) -> None:
    """Record `path` (and its parents, as folders), refusing what the file system cannot hold."""
    if not path:
        return  # a folder entry for the destination itself
    parts = path.split("/")
    # The deepest parent first: a folder already placed had its own parents placed with it.
    for depth in range(len(parts) - 1, 0, -1):
        parent = "/".join(parts[:depth])
        there = placed.get(parent)
        if there is None:
            placed[parent] = _Placed(True, archive)
        elif there.folder:
            break
        else:
            raise UsageError(
                f"{what} {archive} has an entry {info.filename!r} under {parent!r}, "
                f"which is a file{_of(there, archive)}",
                _HINT,
            )
    there = placed.get(path)
    folder = info.is_dir()
    if there is not None and there.folder != folder:
        kind, other = ("folder", "file") if folder else ("file", "folder")
        raise UsageError(
            f"{what} {archive} has a {kind} entry {info.filename!r}, but {path!r} is a {other}{_of(there, archive)}",
            _HINT,
        )
    placed[path] = _Placed(folder, archive)


def _of(there: _Placed, archive: Path) -> str:
    return "" if there.archive == archive else f" in {there.archive}"
