"""Choose the application files that go into an artifact, and keep secrets out."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from uv_lambda.build.never_shipped import NEVER_SHIPPED_DIRS, NEVER_SHIPPED_SUFFIXES

# Left out by default when no `include` is configured: not code a function runs.
NOT_APPLICATION_DIRS = {
    "tests",
    "test",
    "docs",
    "doc",
    "examples",
    "build",
    "dist",
    "scripts",
    "bench",
    "benchmarks",
}
NOT_APPLICATION_FILES = {"setup.py", "conftest.py", "noxfile.py", "fabfile.py", "tasks.py"}
SECRET_PATTERNS = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
    "*.p12",
    "*.pfx",
    ".netrc",
    ".pypirc",
    "credentials",
)


class Selection(NamedTuple):  # not a dataclass: incremental.py imports this module
    files: tuple[tuple[str, Path], ...]  # (archive name, path), sorted
    secrets_skipped: tuple[str, ...]


def looks_secret(relative: PurePosixPath) -> bool:
    return any(fnmatch.fnmatch(relative.name, pattern) for pattern in SECRET_PATTERNS) or ".aws" in relative.parts


def default_includes(root: Path) -> list[str]:
    """Top-level packages (folders with __init__.py) and modules, minus tests, docs and tools."""
    includes = []
    for path in sorted(root.iterdir()):
        if (path.is_dir() and (path / "__init__.py").is_file() and path.name not in NOT_APPLICATION_DIRS) or (
            path.is_file() and path.suffix == ".py" and path.name not in NOT_APPLICATION_FILES
        ):
            includes.append(path.name)
    return includes


def _excluded(relative: PurePosixPath, excludes: Iterable[str]) -> bool:
    candidates = [
        relative.as_posix(),
        *(parent.as_posix() for parent in relative.parents if parent.parts),
    ]
    return any(fnmatch.fnmatch(candidate, pattern) for pattern in excludes for candidate in candidates)


def select_files(root: Path, includes: Iterable[str], excludes: Iterable[str]) -> Selection:
    """Files under `root` matched by the include globs, less excludes, caches and secrets."""
    excludes = list(excludes)
    chosen: dict[str, Path] = {}
    secrets: list[str] = []
    for pattern in includes:
        for match in sorted(root.glob(pattern)):
            candidates = sorted(p for p in match.rglob("*") if p.is_file()) if match.is_dir() else [match]
            for path in candidates:
                relative = PurePosixPath(path.relative_to(root).as_posix())
                if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
                    continue  # a link out of the project would ship the build machine's files
                if NEVER_SHIPPED_DIRS.intersection(relative.parts) or relative.suffix in NEVER_SHIPPED_SUFFIXES:
                    continue
                if _excluded(relative, excludes):
                    continue
                if looks_secret(relative):
                    secrets.append(relative.as_posix())
                    continue
                chosen[relative.as_posix()] = path
    return Selection(tuple(sorted(chosen.items())), tuple(sorted(set(secrets))))
