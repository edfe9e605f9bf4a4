"""Where uv-lambda keeps reusable work: installed dependency sets, runtime folders."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    """UV_LAMBDA_CACHE_DIR, else $XDG_CACHE_HOME/uv-lambda, else ~/.cache/uv-lambda."""
    override = os.environ.get("UV_LAMBDA_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "uv-lambda"


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
