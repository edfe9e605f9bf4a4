"""Scratch folders that carry their owner's process id, and the sweep that removes those of
builds that were killed.

A build works in scratch folders (`.install-<pid>-*` in the package cache, `.uv-lambda-<pid>-*`
in the output folder, `uv-lambda-<pid>-*` in the temporary folder) and temporary files
(`.<name>.<pid>.<n>.tmp`, see atomic.py). A build that ends normally, by an error or by
Ctrl-C removes its own; one that is killed (SIGKILL, a power cut) cannot. The next build
removes those whose process is gone, and any older than a day whatever their id says (the
id may have been reused).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from pathlib import Path

MAX_AGE = 24 * 3600.0
_KINDS = ("uv-lambda", "install", "unpack", "set", "runtime", "rebuild")


def owner(name: str) -> int | None:
    """The pid in a name uv-lambda gives its scratch (`.<kind>-<pid>-...`) or its temporary
    files (`.<name>.<pid>.<n>.tmp`, atomic.py); None for any other name."""
    if not name.startswith("."):
        return None
    for kind in _KINDS:
        if name.startswith(f".{kind}-"):
            pid = name[len(kind) + 2 :].partition("-")[0]
            return int(pid) if pid.isdigit() else None
    parts = name.split(".")
    if len(parts) >= 5 and parts[-1] == "tmp" and parts[-3].isdigit() and parts[-2].isdigit():
        return int(parts[-3])
    return None


def owner_in_tempdir(name: str) -> int | None:
    """In the shared temporary folder, only the pipeline's own `uv-lambda-<pid>-...` folders."""
    if name.startswith("uv-lambda-"):
        pid = name[len("uv-lambda-") :].partition("-")[0]
        return int(pid) if pid.isdigit() else None
    return None


def tempdir() -> str:
    """tempfile.gettempdir()'s answer for the usual cases, without importing tempfile."""
    for variable in ("TMPDIR", "TEMP", "TMP"):
        if os.environ.get(variable):
            return os.environ[variable]
    return "/tmp"


_made: list[str] = []  # this process's scratch folders, for remove_own()


def make(parent: Path, kind: str, *, hidden: bool = True) -> Path:
    """A new scratch folder in `parent`, named for `kind` and this process."""
    import tempfile
    from pathlib import Path

    parent.mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix=f"{'.' if hidden else ''}{kind}-{os.getpid()}-", dir=parent)
    _made.append(folder)
    return Path(folder)


def remove_own() -> None:
    """Remove what is left of this process's scratch folders: after Ctrl-C, whose exception
    may land between a folder's creation and the `try` that removes it, or inside that removal."""
    from uv_lambda.cache import remove

    while _made:
        remove(_made.pop())


def alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def sweep(folders: Iterable[str | os.PathLike[str]], owner_of: Callable[[str], int | None] = owner) -> list[str]:
    """Remove abandoned scratch (its owner gone, or over a day old) from each folder (not
    below it); what was removed."""
    from uv_lambda.cache import debug, remove

    removed = []
    now = time.time()
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            pid = owner_of(entry.name)
            if pid is None:
                continue
            try:
                modified = entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            if now - modified > MAX_AGE or not alive(pid):
                debug("removing %s, left by a build that did not finish", entry.path)
                remove(entry.path)
                removed.append(entry.path)
    return removed


def cache_folders() -> list[str]:
    """The folders of the cache in which builds make scratch."""
    from uv_lambda.cache import cache_dir

    root = cache_dir()
    names = ("sets", "packages", "exports", "memo", "rebuild", os.path.join("rebuild", "commands"), "runtimes")
    return [os.path.join(root, name) for name in names]


def sweep_for_build(out_dirs: Iterable[str | os.PathLike[str]] = ()) -> list[str]:
    """Everything a build sweeps: the cache, the temporary folder, its output folders."""
    removed = sweep([*cache_folders(), *out_dirs])
    return removed + sweep([tempdir()], owner_in_tempdir)
