"""The metadata file beside an artifact: its typed record (ArtifactMetadata), the one
reader and the one writer.

artifact.py, the model of a build's output, re-exports them. They live here because an
app-only rebuild reads and updates metadata without loading that model: the record is a
plain class with __slots__, not a dataclass (see bundle/rebuild/__init__.py).
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os

from uv_lambda import atomic

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from typing import Any

    from _typeshed import StrPath

    from uv_lambda.artifact import Role, Source

SCHEMA_VERSION = 1


class _Frozen:
    """What @dataclass(frozen=True) gives, for a class that lists its fields in __slots__:
    no assignment after __init__, equality and hash over the fields in _COMPARED, a repr."""

    __slots__: tuple[str, ...] = ()
    _COMPARED: tuple[str, ...] = ()

    def _init(self, **values: object) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._COMPARED)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Frozen) and type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class PackageInfo(_Frozen):
    """A distribution shipped in an artifact."""

    __slots__ = ("name", "size", "source", "version")
    _COMPARED = __slots__
    name: str
    version: str
    source: Source
    size: int  # unzipped bytes of its files in the artifact

    def __init__(self, name: str, version: str, source: Source, size: int = 0) -> None:
        self._init(name=name, version=version, source=source, size=size)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class ArtifactMetadata(_Frozen):
    """What the metadata file beside an artifact says (`<zip>.json`)."""

    __slots__ = (
        "architecture",
        "bytecode",
        "code_sha256",
        "dependencies_hash",
        "file",
        "file_count",
        "format",
        "function",
        "handler",
        "lock_sha256",
        "packages",
        "platform",
        "python_version",
        "role",
        "runtime",
        "runtime_origin",
        "runtime_reason",
        "schema",
        "sha256",
        "size",
        "unzipped_size",
        "uv_version",
        "warnings",
    )
    _COMPARED = tuple(name for name in __slots__ if name != "warnings")
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
    packages: tuple[PackageInfo, ...]
    dependencies_hash: str  # content key of the third-party dependency set
    # How the runtime was chosen ("default": by requires-python and the date) and why; with
    # uv.lock's digest, the next build of the same lock keeps a default runtime (bundle/settings.py).
    runtime_origin: str
    runtime_reason: str
    lock_sha256: str
    schema: int
    warnings: tuple[str, ...]

    # Many arguments (PLR0913) on purpose: one keyword per field of the file, as a dataclass's __init__ has.
    def __init__(  # noqa: PLR0913
        self,
        *,
        function: str,
        format: str,
        role: Role,
        file: str,
        runtime: str,
        architecture: str,
        handler: str | None,
        python_version: str,
        platform: str,
        uv_version: str,
        sha256: str,
        code_sha256: str,
        size: int,
        unzipped_size: int,
        file_count: int,
        bytecode: bool,
        packages: tuple[PackageInfo, ...] = (),
        dependencies_hash: str = "",
        runtime_origin: str = "",
        runtime_reason: str = "",
        lock_sha256: str = "",
        schema: int = SCHEMA_VERSION,
        warnings: tuple[str, ...] = (),
    ) -> None:
        values = dict(locals())
        del values["self"]
        self._init(**values)

    def replace(self, **changes: Any) -> ArtifactMetadata:
        """A copy with `changes` (dataclasses.replace)."""
        values = {name: getattr(self, name) for name in self.__slots__}
        return ArtifactMetadata(**{**values, **changes})

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["packages"] = [package.to_json() for package in self.packages]
        data["warnings"] = list(self.warnings)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactMetadata:
        """The record of a metadata document; TypeError or ValueError when it is not one."""
        values = dict(data)
        values["packages"] = tuple(PackageInfo(**package) for package in values.get("packages", []))
        values["warnings"] = tuple(values.get("warnings", []))
        return cls(**values)


def metadata_path(artifact: StrPath) -> str:
    """The metadata file of `artifact`: beside it, its name + ".json"."""
    return os.fspath(artifact) + ".json"


def digests(path: StrPath) -> tuple[str, str]:
    """(hex sha256, base64 sha256) of a file: the second is Lambda's CodeSha256."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return formatted(digest.digest())


def file_sha256(path: StrPath) -> str | None:
    """Hex sha256 of a file's bytes, None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except FileNotFoundError:
        return None


def formatted(sha256: bytes) -> tuple[str, str]:
    """A raw sha256 as (hex, base64): how the metadata and AWS's CodeSha256 spell it."""
    return sha256.hex(), binascii.b2a_base64(sha256, newline=False).decode("ascii")


def read_metadata(artifact: StrPath) -> ArtifactMetadata:
    """The metadata beside `artifact`: OSError when it cannot be read, ValueError or
    TypeError when it is not uv-lambda metadata."""
    with open(metadata_path(artifact), "rb") as handle:
        return ArtifactMetadata.from_json(json.loads(handle.read()))


def metadata_text(metadata: ArtifactMetadata) -> str:
    """The file's bytes (as text): sorted keys, two-space indents, a final newline."""
    return json.dumps(metadata.to_json(), indent=2, sort_keys=True) + "\n"


def write_metadata(artifact: StrPath, metadata: ArtifactMetadata) -> None:
    """Write the metadata atomically, beside its artifact."""
    atomic.write_text(metadata_path(artifact), metadata_text(metadata))
