"""One function, resolved: the model that build settings, local runs and deploys derive from.

A `Function` is resolved once from its configuration (pyproject.toml and the command line,
`config.FunctionConfig`, whose schema holds every default and range) and, for runs and
deploys, from its build's metadata: what was built is what runs. The runtime table
(`runtimes.py`) is the one source of runtimes and architectures; this module adds the formats.

Not imported by the app-only rebuild path (docs/architecture.md): it needs dataclasses and enum.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from uv_lambda.runtimes import Architecture as Architecture
from uv_lambda.runtimes import Runtime as Runtime
from uv_lambda.runtimes import get_architecture, get_runtime

if TYPE_CHECKING:
    from uv_lambda.artifact import ArtifactMetadata
    from uv_lambda.config import FunctionConfig


class Format(StrEnum):
    """What a build makes; the values are the strings of pyproject.toml and of the metadata."""

    ZIP = "zip"  # function.zip: dependencies + workspace + application
    LAYER = "layer"  # layer.zip: third-party dependencies only, no function
    SPLIT = "split"  # layer.zip + app.zip
    IMAGE = "image"  # an OCI image (image/), no zip

    @property
    def files(self) -> tuple[str, ...]:
        """The zips it writes, in the order a runner stacks them (layers first)."""
        return _FILES[self]

    @property
    def has_code(self) -> bool:
        """Whether it holds the function's code (a handler to run), not only a layer."""
        return self is not Format.LAYER

    @property
    def has_layer(self) -> bool:
        return self in (Format.LAYER, Format.SPLIT)


_FILES = {
    Format.ZIP: ("function.zip",),
    Format.LAYER: ("layer.zip",),
    Format.SPLIT: ("layer.zip", "app.zip"),
    Format.IMAGE: (),
}


@dataclass(frozen=True)
class Function:
    """One function as it is built, run and deployed.

    `config` is everything configurable (with where each value came from); runtime,
    architecture, format and handler are resolved: typed, and for a built function the
    ones its build was made for.
    """

    config: FunctionConfig
    runtime: Runtime
    architecture: Architecture
    format: Format
    handler: str | None  # None for a layer only

    @property
    def name(self) -> str:
        """The function's name in AWS (and in the local runner's ARN)."""
        return self.config.aws_name

    @classmethod
    def of_build(cls, config: FunctionConfig, metadata: ArtifactMetadata) -> Function:
        """The function a built artifact holds: its metadata says the runtime, architecture,
        format and handler it was built for; `config` says the rest."""
        return cls(
            config=config,
            runtime=get_runtime(metadata.runtime),
            architecture=get_architecture(metadata.architecture),
            format=Format(metadata.format),
            handler=metadata.handler,
        )

    @classmethod
    def configured(cls, config: FunctionConfig) -> Function:
        """A function as its configuration alone says (a zip without metadata, an image): the
        runtime must be set; the handler, unless only a layer is built."""
        if config.runtime is None:
            raise ValueError(f"{config.name}: no runtime to resolve")
        return cls(config, get_runtime(config.runtime), config.architecture, config.format, config.handler)

    def with_runtime(self, name: str) -> Function:
        return replace(self, runtime=get_runtime(name))
