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
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

MAX_AGE = 24 * 3600.0
# What uv-lambda names its scratch: a known prefix and the pid, or an atomic.py temporary.
_OWNED = re.compile(r"^\.(?:uv-lambda|install|unpack|set|runtime|rebuild)-(\d+)-|^\..+\.(\d+)\.\d+\.tmp$")
# In the shared temporary folder, only the pipeline's own folders.
_OWNED_IN_TEMPDIR = re.compile(r"^uv-lambda-(\d+)-()")


def make(parent: Path, kind: str, *, hidden: bool = True) -> Path:
    """A new scratch folder in `parent`, named for `kind` and this process."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{'.' if hidden else ''}{kind}-{os.getpid()}-", dir=parent))


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


def abandoned(name: str, modified: float, now: float, pattern: re.Pattern[str] = _OWNED) -> bool:
    """Whether `name` is uv-lambda scratch whose owner is gone (or which is over a day old)."""
    match = pattern.match(name)
    if match is None:
        return False
    pid = int(match.group(1) or match.group(2))
    return now - modified > MAX_AGE or not alive(pid)


def sweep(folders: Iterable[Path], pattern: re.Pattern[str] = _OWNED) -> list[Path]:
    """Remove abandoned scratch from each folder (not below it); what was removed."""
    from uv_lambda.cache import debug, remove

    removed = []
    now = time.time()
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                modified = entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            if abandoned(entry.name, modified, now, pattern):
                debug("removing %s, left by a build that did not finish", entry.path)
                remove(entry.path)
                removed.append(Path(entry.path))
    return removed


def cache_folders() -> list[Path]:
    """The folders of the cache in which builds make scratch."""
    from uv_lambda.cache import cache_root

    root = cache_root()
    return [root / name for name in ("sets", "packages", "exports", "memo", "rebuild", "runtimes")]


def sweep_for_build(out_dir: Path | None) -> list[Path]:
    """Everything a build sweeps before it starts: the cache, the temporary folder, its output."""
    removed = sweep([*cache_folders(), *([out_dir] if out_dir else [])])
    return removed + sweep([Path(tempfile.gettempdir())], _OWNED_IN_TEMPDIR)
