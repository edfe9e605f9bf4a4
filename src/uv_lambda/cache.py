"""Where uv-lambda keeps reusable work: installed dependency sets, runtime folders."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable

TYPE_CHECKING = False  # mypy treats this name as True; see cache_dir
if TYPE_CHECKING:
    from pathlib import Path


def cache_dir() -> str:
    """UV_LAMBDA_CACHE_DIR, else $XDG_CACHE_HOME/uv-lambda, else ~/.cache/uv-lambda.

    A string, computed without pathlib: an app-only rebuild needs it before it imports
    anything it can do without (build/record_file.py).
    """
    override = os.environ.get("UV_LAMBDA_CACHE_DIR")
    if override:
        return override
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "uv-lambda")


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
    try:
        value = path.read_text()
        if still_valid(value):
            return value
    except OSError:
        pass
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(value)
        temporary.replace(path)
    except OSError:
        pass
    return value
