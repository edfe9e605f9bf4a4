"""What an app-only rebuild changed in an artifact, handed to a local run in the same process.

A local run (`invoke`, `serve --watch`) unpacks the artifact its build just wrote
(emulator/unpack_cache.py). After an app-only rebuild only a few entries differ, and the
rebuild knows them: reading the whole zip again to find them costs more than the rest of the
unpack. So the rebuild leaves here, per artifact, the stat of the archive before and after
it, the new entries (data, CRC-32, size, executable bit) and the removed names; the unpack
takes that note and updates only those files, when its tree was made from the archive the
note starts from (else it reads the archive as always).

Only this process sees a note: another process finds no note and reads the archive.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from collections.abc import Sequence

# Changed entries above this many bytes are not kept in memory: the unpack reads the archive.
NOTE_BYTES = 16 * 1024 * 1024


class ChangedEntry:
    """One new or replaced file of the archive, as the unpack writes it."""

    __slots__ = ("crc", "data", "executable")

    def __init__(self, data: bytes, crc: int, executable: bool) -> None:
        self.data = data
        self.crc = crc
        self.executable = executable


class ArtifactChange:
    """An archive's entries changed by a rebuild: `before` and `after` identify the archive
    (see identity); `entries` by archive name; `removed` the names that are gone."""

    __slots__ = ("after", "before", "entries", "removed")

    def __init__(
        self, before: list[int], after: list[int], entries: dict[str, ChangedEntry], removed: Sequence[str]
    ) -> None:
        self.before = before
        self.after = after
        self.entries = entries
        self.removed = list(removed)


_notes: dict[str, ArtifactChange] = {}


def identity(path: str | os.PathLike[str]) -> list[int]:
    """[size, mtime_ns, inode] of an archive: a rebuild writes a new file and renames it over."""
    status = os.stat(path)
    return [status.st_size, status.st_mtime_ns, status.st_ino]


def leave(artifact: str | os.PathLike[str], change: ArtifactChange | None) -> None:
    """Record `change` for `artifact` (None: what changed is not known, forget any note)."""
    key = os.path.realpath(artifact)
    if change is None or sum(len(entry.data) for entry in change.entries.values()) > NOTE_BYTES:
        _notes.pop(key, None)
    else:
        _notes[key] = change


def take(artifact: str | os.PathLike[str]) -> ArtifactChange | None:
    """The note left for `artifact` (once), when the archive is still the one it describes."""
    change = _notes.pop(os.path.realpath(artifact), None)
    try:
        return change if change is not None and identity(artifact) == change.after else None
    except OSError:
        return None
