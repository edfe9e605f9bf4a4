"""Where uv-lambda keeps reusable work: installed dependency sets, runtime folders."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable

from uv_lambda import sealed

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from pathlib import Path


def cache_dir() -> str:
    """UV_LAMBDA_CACHE_DIR, else $XDG_CACHE_HOME/uv-lambda, else ~/.cache/uv-lambda.

    A string, computed without pathlib: an app-only rebuild needs it before it imports
    anything it can do without (bundle/rebuild/record_file.py).
    """
    override = os.environ.get("UV_LAMBDA_CACHE_DIR")
    if override:
        return override
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "uv-lambda")


# What lives in the cache, by folder: `uv-lambda cache dir` lists it, `cache clean` removes
# exactly these (never anything else a mistaken UV_LAMBDA_CACHE_DIR may point at).
FOLDERS = {
    "packages": "one verified, compiled package per pinned requirement and target",
    "sets": "the packages of one lock spliced into one archive (and its layer form)",
    "exports": "`uv export` results, by the bytes of uv.lock and pyproject.toml",
    "rebuild": "build records, for app-only rebuilds",
    "memo": "uv's version and interpreter locations",
    "runtimes": "the local runner's /var/runtime (awslambdaric, boto3) per Python version",
    "unpacked": "artifacts unpacked for local runs (invoke, serve), reused while unchanged",
    "image": "image layers and base-image blobs",
    "locks": "one lock file per output folder, so that two builds of it take turns",
    "local-builds": "a local run's own build when dist/lambda/<fn>/ holds other settings",
}


def cache_root() -> Path:
    from pathlib import Path

    return Path(cache_dir())


def remembered(kind: str, key: object, compute: Callable[[], str], still_valid: Callable[[str], bool]) -> str:
    """`compute()`'s result for `key`, kept on disk between runs while `still_valid` says so.

    For facts that cost a subprocess to learn and rarely change (uv's version for a given
    binary, where an interpreter lives). A cache that cannot be written is not an error.
    """
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:24]
    path = cache_root() / "memo" / f"{kind}-{digest}"
    value = sealed.read(path)
    if isinstance(value, str) and still_valid(value):
        return value
    if path.exists():
        miss(path, "wrong digest or out of date")
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sealed.write(path, value)
    except OSError:
        pass
    return value


def debug(message: str, *args: object) -> None:
    """Log at debug level (-v) if logging is set up: an app-only rebuild never imports it."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger("uv_lambda.cache").debug(message, *args)


def miss(entry: str | os.PathLike[str], reason: str) -> None:
    """Drop a damaged cache entry (a file or a folder): the caller builds it again."""
    debug("damaged cache entry %s (%s): building it again", entry, reason)
    remove(entry)


def entry_of(path: str | os.PathLike[str]) -> str:
    """The cache entry `path` belongs to: a file of a package or set folder stands for the
    whole folder (its other files describe it), anything else for itself."""
    folder = os.path.dirname(os.fspath(path))
    if os.path.dirname(folder) in (os.path.join(cache_dir(), "sets"), os.path.join(cache_dir(), "packages")):
        return folder
    return os.fspath(path)


def remove(entry: str | os.PathLike[str]) -> None:
    """Remove a file or a folder tree; what is already gone is not an error."""
    import shutil

    if os.path.isdir(entry) and not os.path.islink(entry):
        shutil.rmtree(entry, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(entry)


def tree_listing(
    folder: str | os.PathLike[str], skip: str = "", folders: dict[str, int] | None = None
) -> list[list[object]]:
    """(path, size, mtime) of every file below `folder` but `skip`, sorted: a cached folder's
    fingerprint, compared on each use (cheaper than hashing its files, and what any write,
    truncation or removal changes). `folders`, when given, gets the mtime of every folder
    read ("" for `folder` itself), taken before its entries are read.

    In os.walk's order and with its rules (a folder's files sorted, then its folders in turn;
    a link to a folder is not entered; a folder that cannot be read is left out), but each
    folder read through its descriptor, so that each file's stat takes no walk down the
    whole path: a local run checks the ~2,500 files of its runtime folder this way."""
    listing: list[list[object]] = []
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return listing
    try:
        _list_folder(descriptor, "", skip, listing, folders)
    finally:
        os.close(descriptor)
    return listing


def _list_folder(
    descriptor: int, below: str, skip: str, listing: list[list[object]], folders: dict[str, int] | None
) -> None:
    try:
        if folders is not None:
            folders[below.rstrip("/")] = os.fstat(descriptor).st_mtime_ns
        with os.scandir(descriptor) as iterator:
            entries = sorted(iterator, key=lambda entry: entry.name)
    except OSError:
        return
    inner_folders = []
    for entry in entries:
        if entry.is_dir():  # follows a link, as os.walk does: a link to a folder is no file
            if not entry.is_symlink():
                inner_folders.append(entry.name)
            continue
        relative = below + entry.name
        if relative != skip:
            status = entry.stat(follow_symlinks=False)
            listing.append([relative, status.st_size, status.st_mtime_ns])
    for name in inner_folders:
        try:
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=descriptor)
        except OSError:
            continue
        try:
            _list_folder(inner, f"{below}{name}/", skip, listing, folders)
        finally:
            os.close(inner)
