"""The artifact model: what a build writes, and the metadata file beside each artifact.

Layout of an output folder (default `dist/lambda/<function>/`):

    zip     function.zip   (+ function.zip.json)  dependencies + workspace + application
    layer   layer.zip      (+ layer.zip.json)     third-party dependencies under python/lib/...
    split   layer.zip + app.zip (+ .json each)    app.zip = application + workspace members

The local runner, deploy and the image build read artifacts only through this module.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from uv_lambda.errors import UsageError

# digests and metadata_path are part of this module's interface, kept in a lighter module.
from uv_lambda.metadata_file import digests as digests
from uv_lambda.metadata_file import metadata_path as metadata_path
from uv_lambda.metadata_file import write_document
from uv_lambda.model import Format

SCHEMA_VERSION = 1

Role = Literal["function", "layer", "app"]
Source = Literal["registry", "workspace", "project"]

# Which files each format writes, in the order a runner stacks them (layers first).
FORMAT_FILES: dict[str, tuple[str, ...]] = {format: format.files for format in Format if format.files}
ROLE_OF_FILE: dict[str, Role] = {"function.zip": "function", "layer.zip": "layer", "app.zip": "app"}


@dataclass(frozen=True)
class PackageInfo:
    name: str
    version: str
    source: Source
    size: int = 0  # unzipped bytes of its files in the artifact


@dataclass(frozen=True)
class ArtifactMetadata:
    function: str
    format: str  # the build format this artifact belongs to: zip, layer, split
    role: Role  # what this zip is: a whole function, a layer, or app code for a layer
    file: str  # the artifact's file name, beside this metadata file
    runtime: str
    architecture: str
    handler: str | None  # None for a layer
    python_version: str
    platform: str  # uv's --python-platform, e.g. x86_64-manylinux_2_34
    uv_version: str
    sha256: str  # hex digest of the zip
    code_sha256: str  # base64 of the raw digest: what Lambda reports as CodeSha256
    size: int  # zipped bytes
    unzipped_size: int
    file_count: int
    bytecode: bool
    packages: tuple[PackageInfo, ...] = ()
    dependencies_hash: str = ""  # content key of the third-party dependency set
    # How the runtime was chosen ("default": by requires-python and the date) and why; with
    # uv.lock's digest, the next build of the same lock keeps a default runtime (bundle/settings.py).
    runtime_origin: str = ""
    runtime_reason: str = ""
    lock_sha256: str = ""
    schema: int = SCHEMA_VERSION
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["packages"] = [asdict(package) for package in self.packages]
        data["warnings"] = list(self.warnings)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactMetadata:
        values = dict(data)
        values["packages"] = tuple(PackageInfo(**package) for package in values.get("packages", []))
        values["warnings"] = tuple(values.get("warnings", []))
        return cls(**values)


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
    meta = metadata_path(path)
    if not path.is_file():
        raise UsageError(f"artifact {path} does not exist", "build it with `uv-lambda build`")
    if not meta.is_file():
        raise UsageError(f"{path} has no metadata file {meta.name}", "rebuild it with `uv-lambda build`")
    try:
        return Artifact(path, ArtifactMetadata.from_json(json.loads(meta.read_text())))
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


def write_metadata(artifact_path: Path, metadata: ArtifactMetadata) -> None:
    """Write the metadata atomically, beside its artifact."""
    write_document(artifact_path, metadata.to_json())
