"""Two owners of one name in the artifact: refused, unless `allow-collisions` names it.

A function's files come from three places: third-party packages, local packages and the
application. Installed into one folder (or one zip), a later copy silently replaces an
earlier one: a local `typing_extensions.py` overwrites the dependency's and SQLAlchemy then
fails on Lambda; a dependency's own top-level `app/` is merged file by file with the
application's. Each such name is an error that names both owners.

Rules:
- two packages may install the same path only with identical contents, or when it is a
  legacy namespace `__init__.py` (`pkgutil.extend_path`, `pkg_resources.declare_namespace`);
- the application may not ship a top-level name that a package installs, unless both are
  namespace folders (no `__init__.py`) that share no file;
- `allow-collisions` (fnmatch patterns matched against the path and its top-level name)
  allows a collision: the application's copy wins over an installed one.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from uv_lambda.errors import VerificationError

APPLICATION = "the application"
_NAMESPACE_MARKERS = (b"declare_namespace", b"extend_path")


def is_namespace_init(path: str, data: bytes) -> bool:
    """A legacy namespace `__init__.py` (pkg_resources or pkgutil style): packages that share
    the namespace each ship one, worded a little differently, and any one of them works."""
    return path.endswith("/__init__.py") and any(marker in data for marker in _NAMESPACE_MARKERS)


def allowed(path: str, patterns: Iterable[str]) -> bool:
    top = path.split("/", 1)[0]
    return any(fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(top, pattern) for pattern in patterns)


def _allow_hint(name: str, winner: str) -> str:
    return f'or, if this is intended, add "{name}" to allow-collisions in [tool.uv-lambda] ({winner})'


def between_packages(path: str, first: str, second: str) -> VerificationError:
    top = path.split("/", 1)[0]
    return VerificationError(
        f"{path} is installed by both {first} and {second}, with different contents",
        f'drop one of them (exclude-packages = ["{second}"]), '
        + _allow_hint(top, "which copy ships is then not defined"),
    )


def with_application(name: str, owner: str) -> VerificationError:
    return VerificationError(
        f"{name} is shipped twice: by {APPLICATION} and by {owner}",
        f"rename the application's {name}, or leave it out with exclude, "
        + _allow_hint(name, "the application's copy wins"),
    )


@dataclass(frozen=True)
class TopLevel:
    """What one owner installs under a top-level name."""

    owner: str
    regular: bool  # a folder with __init__.py, or a module file (not a namespace folder)
    files: frozenset[str]


def top_levels(owner_files: Mapping[str, Iterable[str]]) -> dict[str, list[TopLevel]]:
    """Top-level names (packages, modules) of each owner's files, metadata and bytecode aside."""
    grouped: dict[str, dict[str, set[str]]] = {}
    for owner, files in owner_files.items():
        for path in files:
            top = path.split("/", 1)[0]
            if top == "__pycache__" or top.endswith((".dist-info", ".egg-info", ".data")):
                continue
            grouped.setdefault(top, {}).setdefault(owner, set()).add(path)
    result: dict[str, list[TopLevel]] = {}
    for top, owners in grouped.items():
        result[top] = [
            TopLevel(owner, "/" not in next(iter(files)) or f"{top}/__init__.py" in files, frozenset(files))
            for owner, files in sorted(owners.items())
        ]
    return result


def check_application(
    application: Mapping[str, TopLevel], installed: Mapping[str, list[TopLevel]], patterns: Iterable[str]
) -> None:
    """The application's top-level names against what packages install (see the rules above)."""
    patterns = list(patterns)
    for name, mine in sorted(application.items()):
        for theirs in installed.get(name, []):
            if not mine.regular and not theirs.regular:
                shared = sorted(mine.files & theirs.files)
                if shared and not allowed(shared[0], patterns):
                    raise with_application(shared[0], theirs.owner)
                continue
            if not allowed(name, patterns):
                raise with_application(name + ("/" if "/" in next(iter(mine.files)) else ""), theirs.owner)


def check_function(
    app_files: Iterable[str],
    local_files: Mapping[str, Iterable[str]],
    installed: Mapping[str, list[tuple[str, bool]]],
    patterns: Iterable[str],
    *,
    project: str,
    left_to_packages: Iterable[str] = (),
) -> None:
    """A function's application files and local packages against its third-party set.

    `local_files`: relative paths by local package; `installed`: the set's top-level names
    with their (package, regular) owners (dependencies.CachedDependencies.top_levels).
    `left_to_packages`: the project's own top-level packages and modules that the default
    selection left out because a local package installs them: fine when that package is
    the project's own wheel (`project`), a collision when it is another one.
    """
    patterns = list(patterns)
    for top in sorted(left_to_packages):
        for level in top_levels(local_files).get(top, []):
            if level.owner != project and not allowed(top, patterns):
                raise with_application(top, level.owner)
    third_party = {
        top: [TopLevel(owner, regular, frozenset()) for owner, regular in owners] for top, owners in installed.items()
    }
    local = top_levels(local_files)
    for top, levels in sorted(local.items()):
        for mine in levels:
            for theirs in third_party.get(top, []):
                if (mine.regular or theirs.regular) and not allowed(top, patterns):
                    raise between_packages(
                        top + ("/" if mine.regular and "/" in next(iter(mine.files)) else ""), theirs.owner, mine.owner
                    )
    application = top_levels({APPLICATION: app_files}).items()
    combined: dict[str, list[TopLevel]] = {
        top: [*third_party.get(top, []), *local.get(top, [])] for top in {*third_party, *local}
    }
    check_application({top: levels[0] for top, levels in application}, combined, patterns)
