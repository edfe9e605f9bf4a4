"""Which application files a build ships when no `include` is set, and what it leaves out.

The default is the project's top-level packages and modules, less the names its own wheel
(or another workspace package) already installs, plus the folder or module that holds the
handler (sources.application_includes). The summary names the top-level entries that were
not shipped, so that a `data/` or `templates/` folder the code reads is seen to be missing
before the function fails.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path

from uv_lambda.bundle.stage.never_shipped import NEVER_SHIPPED_DIRS

# Top-level entries that are never application files: not worth naming as left out.
_NOT_REPORTED = (
    ".*",
    "pyproject.toml",
    "uv.lock",
    "uv.toml",
    "dist",
    "build",
    "*.egg-info",
    "README*",
    "LICENSE*",
    "LICENCE*",
    "CHANGELOG*",
    "CHANGES*",
    "Dockerfile*",
)
_LISTED = 10  # left-out entries named in the summary; the rest are counted


def installed_names(site_packages: Path) -> list[str]:
    """Top-level packages and modules of an installed tree (no metadata folders)."""
    if not site_packages.is_dir():
        return []
    return sorted(
        path.name
        for path in site_packages.iterdir()
        if not path.name.endswith((".dist-info", ".data", ".pth")) and path.name != "__pycache__"
    )


def left_out(root: Path, shipped: Iterable[str], *, packaged: bool) -> list[str]:
    """Top-level entries of `root` that ship nothing (folders end in "/")."""
    top = set(shipped)
    names = []
    for path in sorted(root.iterdir()):
        name = path.name
        if name in top or name in NEVER_SHIPPED_DIRS or any(fnmatch.fnmatch(name, p) for p in _NOT_REPORTED):
            continue
        if packaged and name == "src":
            continue  # the wheel's sources: shipped as the built package
        names.append(f"{name}/" if path.is_dir() else name)
    return names


def summary(shipped: Iterable[str], wheels: Iterable[str], omitted: list[str]) -> str:
    """One line: the application entries shipped, the built packages, and what was left out."""
    parts = [*(f"{name} (built)" for name in wheels), *shipped]
    line = "  application: " + (", ".join(parts) or "no files")
    if omitted:
        named = ", ".join(omitted[:_LISTED])
        more = f" and {len(omitted) - _LISTED} more" if len(omitted) > _LISTED else ""
        line += f"; not shipped: {named}{more} (add to include in [tool.uv-lambda] to ship)"
    return line


def shipped_entries(archive_names: Iterable[str], root: Path) -> list[str]:
    """The top-level entries the selected files come from (folders end in "/")."""
    tops = {name.split("/", 1)[0] for name in archive_names}
    return sorted(f"{top}/" if (root / top).is_dir() else top for top in tops)
