"""Where uv-lambda keeps reusable work: installed dependency sets, runtime folders."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """UV_LAMBDA_CACHE_DIR, else $XDG_CACHE_HOME/uv-lambda, else ~/.cache/uv-lambda."""
    override = os.environ.get("UV_LAMBDA_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "uv-lambda"
