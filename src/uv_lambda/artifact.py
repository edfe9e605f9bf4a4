"""The artifact model: what a build writes, and the metadata file beside each artifact.

Layout of an output folder (default `dist/lambda/<function>/`):

    zip     function.zip   (+ function.zip.json)  dependencies + workspace + application
    layer   layer.zip      (+ layer.zip.json)     third-party dependencies under python/lib/...
    split   layer.zip + app.zip (+ .json each)    app.zip = application + workspace members

The local runner, deploy and the image build read artifacts only through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from uv_lambda.errors import UsageError

# The metadata file's record, reader and writer are part of this module's interface; they
# live in metadata_file.py, which an app-only rebuild imports without this module.
from uv_lambda.metadata_file import SCHEMA_VERSION as SCHEMA_VERSION
from uv_lambda.metadata_file import ArtifactMetadata as ArtifactMetadata
from uv_lambda.metadata_file import PackageInfo as PackageInfo
from uv_lambda.metadata_file import digests as digests
from uv_lambda.metadata_file import metadata_path as metadata_path
from uv_lambda.metadata_file import read_metadata
from uv_lambda.metadata_file import write_metadata as write_metadata
from uv_lambda.model import Format

Role = Literal["function", "layer", "app"]
Source = Literal["registry", "workspace", "project"]

# Which files each format writes, in the order a runner stacks them (layers first).
FORMAT_FILES: dict[str, tuple[str, ...]] = {format: format.files for format in Format if format.files}
ROLE_OF_FILE: dict[str, Role] = {"function.zip": "function", "layer.zip": "layer", "app.zip": "app"}


@dataclass(frozen=True)
class Artifact:
    path: Path
    metadata: ArtifactMetadata


@dataclass(frozen=True)
class FunctionBuild:
    """The artifacts of one function's build, as found in its output folder."""

    function: str
    format: str
    folder: Path
    artifacts: tuple[Artifact, ...]

    def by_role(self, role: Role) -> Artifact | None:
        return next((a for a in self.artifacts if a.metadata.role == role), None)

    @property
    def code(self) -> Artifact | None:
        """The zip that becomes the task root (/var/task): function.zip or app.zip."""
        return self.by_role("function") or self.by_role("app")

    @property
    def layer(self) -> Artifact | None:
        return self.by_role("layer")


def read_artifact(path: Path) -> Artifact:
    meta = Path(metadata_path(path))
    if not path.is_file():
        raise UsageError(f"artifact {path} does not exist", "build it with `uv-lambda build`")
    if not meta.is_file():
        raise UsageError(f"{path} has no metadata file {meta.name}", "rebuild it with `uv-lambda build`")
    try:
        return Artifact(path, read_metadata(path))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{meta} is not uv-lambda metadata: {exc}", "rebuild with `uv-lambda build`") from None


def read_build(folder: Path) -> FunctionBuild:
    """Read the newest build in `folder` (a build removes the files of other formats)."""
    for format_name in (Format.SPLIT, Format.ZIP, Format.LAYER):  # split first: it holds a layer.zip too
        files = FORMAT_FILES[format_name]
        if all((folder / name).is_file() for name in files):
            artifacts = tuple(read_artifact(folder / name) for name in files)
            if all(a.metadata.format == format_name for a in artifacts):
                return FunctionBuild(artifacts[0].metadata.function, format_name, folder, artifacts)
    raise UsageError(f"no uv-lambda build in {folder}", "run `uv-lambda build` first")
