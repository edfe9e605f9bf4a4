"""The file system of one local function, laid out as Lambda lays it out.

<root>/task   the unpacked function (or app) zip: /var/task, the working directory
<root>/opt    the layers, unpacked in order (a later layer wins a conflict): /opt
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from uv_lambda.errors import UsageError


@dataclass(frozen=True)
class Layout:
    root: Path
    task_root: Path
    opt: Path

    def python_path(self, python_version: str, runtime_folder: Path) -> list[Path]:
        """sys.path as Lambda orders it: task root, layer site-packages, /opt/python, runtime."""
        return [
            self.task_root,
            self.opt / "python" / "lib" / f"python{python_version}" / "site-packages",
            self.opt / "python",
            runtime_folder,
        ]

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _extract(archive: Path, destination: Path, what: str) -> None:
    if not archive.is_file():
        raise UsageError(f"{what} {archive} does not exist", "build it with `uv-lambda build`")
    try:
        with zipfile.ZipFile(archive) as bundle:
            broken = bundle.testzip()
            if broken is not None:
                raise zipfile.BadZipFile(f"bad CRC for {broken}")
            for info in bundle.infolist():
                # extract() refuses absolute paths and `..`, so a zip cannot write outside.
                written = Path(bundle.extract(info, destination))
                mode = (info.external_attr >> 16) & 0o777
                if not info.is_dir() and mode & stat.S_IXUSR:
                    written.chmod(0o755)  # keep executables (layer binaries in /opt/bin) runnable
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise UsageError(
            f"{what} {archive} is not a valid zip file ({exc})",
            "rebuild it with `uv-lambda build`",
        ) from None


def unpack(code: Path, layers: Sequence[Path] = ()) -> Layout:
    """Unpack the code zip and the layer zips (in order) into a fresh temporary folder."""
    root = Path(tempfile.mkdtemp(prefix="uv-lambda-run-"))
    layout = Layout(root, root / "task", root / "opt")
    try:
        layout.task_root.mkdir()
        layout.opt.mkdir()
        _extract(code, layout.task_root, "code zip")
        for layer in layers:
            _extract(layer, layout.opt, "layer")
    except BaseException:
        layout.remove()
        raise
    return layout
