"""`--format dir` (and layer-dir, app-dir): an artifact unpacked into a folder.

For tools that zip for themselves: SAM's makefile builder (`$(ARTIFACTS_DIR)`), a deploy
action's code folder. The tree is exactly the zip's entries, bytecode included, with the
zip's modes (0644, 0755) and its date (1980-01-01) as every file's and folder's mtime, and
nothing else: the metadata stays beside the zip. The zip is the one a build of the matching
zip format writes, so the tree and the zip can always be compared.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import BinaryIO

from uv_lambda import atomic
from uv_lambda.bundle import archive
from uv_lambda.errors import BuildError, UsageError

# --format value -> (the format that is built, the artifact unpacked into --out)
TREE_FORMATS: dict[str, tuple[str, str]] = {
    "dir": ("zip", "function.zip"),
    "layer-dir": ("layer", "layer.zip"),
    "app-dir": ("split", "app.zip"),
}
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z: the date of every entry the archive writer writes
_PROTECTED = ("pyproject.toml", "uv.lock", ".git")


def check_destination(destination: Path, project_root: Path) -> None:
    """Refuse a folder whose contents would be lost for good: a project or one holding it."""
    destination = destination.resolve()
    root = project_root.resolve()
    if root == destination or root.is_relative_to(destination):
        raise UsageError(
            f"--out {destination} holds the project: its contents would be replaced by the tree",
            "pass an empty or build folder, e.g. --out $(ARTIFACTS_DIR) or --out dist/tree",
        )
    found = next((name for name in _PROTECTED if (destination / name).exists()), None)
    if found:
        raise UsageError(
            f"--out {destination} contains {found}: its contents would be replaced by the tree",
            "pass an empty or build folder",
        )


def _contents(entry: archive.Entry, handle: BinaryIO) -> bytes:
    handle.seek(entry.data_offset)
    packed: bytes = handle.read(entry.data_length)
    data = zlib.decompress(packed, -15) if entry.method == 8 else packed
    if len(data) != entry.size or zlib.crc32(data) != entry.crc:
        raise BuildError(f"{entry.data_source}: entry {entry.name} is damaged", "build again")
    return data


def extract(source: Path, target: Path) -> int:
    """Write every entry of `source` under `target`; the number of files."""
    entries = archive.read_entries(source)
    folders = {target}
    with source.open("rb") as handle:
        for entry in entries:
            path = target / entry.name
            if ".." in Path(entry.name).parts or Path(entry.name).is_absolute():
                raise BuildError(f"{source}: entry {entry.name} leaves the folder", "build again")
            path.parent.mkdir(parents=True, exist_ok=True)
            folders.update(p for p in path.parents if p.is_relative_to(target))
            path.write_bytes(_contents(entry, handle))
            os.chmod(path, entry.mode)
            os.utime(path, (ZIP_EPOCH, ZIP_EPOCH))
    # Folders last, deepest first: creating a file changes its folder's mtime.
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        os.chmod(folder, archive.DIRECTORY_MODE)
        os.utime(folder, (ZIP_EPOCH, ZIP_EPOCH))
    return len(entries)


def unpack(source: Path, destination: Path) -> int:
    """Replace `destination` with the tree of `source` (staged beside it, then renamed in)."""
    destination = destination.resolve()
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(atomic.temporary_name(destination))
    staging.mkdir()
    try:
        count = extract(source, staging)
        try:
            atomic.replace_folder(staging, destination)
        except OSError:
            # A mount point or a folder another process holds: empty it, then move the tree in.
            _empty(destination)
            for child in sorted(staging.iterdir()):
                child.rename(destination / child.name)
            os.utime(destination, (ZIP_EPOCH, ZIP_EPOCH))
        return count
    finally:
        atomic.remove_tree(staging)  # (an app-only rebuild imports this module: not shutil)


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            atomic.remove_tree(child)
        else:
            child.unlink()
