"""The file system of one local function, laid out as Lambda lays it out.

<root>/task   the unpacked function (or app) zip: /var/task, the working directory
<root>/opt    the layers, unpacked in order (a later layer wins a conflict): /opt

unpack_cache.py makes it from the function's archives; app/local.py from an image
(unpacked by image/unpack_pulled.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    root: Path
    task_root: Path
    opt: Path
    # A tree of the unpack cache (unpack_cache.py) is released when done with, not removed.
    release: Callable[[], None] | None = None
    # The names in the tree ("task/app/main.py") that differ from the tree it was made from
    # in place (unpack_cache.py: a draft, or the previous generation itself); empty for a
    # generation used as it was; None when it was made anew.
    changed: frozenset[str] | None = None

    def python_path(self, python_version: str, runtime_folder: Path) -> list[Path]:
        """sys.path as Lambda orders it: task root, layer site-packages, /opt/python, runtime."""
        return [
            self.task_root,
            self.opt / "python" / "lib" / f"python{python_version}" / "site-packages",
            self.opt / "python",
            runtime_folder,
        ]

    def remove(self) -> None:
        if self.release is not None:
            self.release()
        else:
            shutil.rmtree(self.root, ignore_errors=True)
