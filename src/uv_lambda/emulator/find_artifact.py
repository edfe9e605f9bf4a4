"""Find what to run: a build folder, a zip with metadata, or a bare zip with --handler."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from uv_lambda.artifact import metadata_path, read_artifact, read_build
from uv_lambda.emulator.function import FunctionSettings, settings_from_build, settings_from_metadata
from uv_lambda.errors import UsageError


def settings_from_path(
    artifact: Path,
    *,
    name: str | None = None,
    handler: str | None = None,
    runtime: str | None = None,
    memory_mb: int = 128,
    timeout_seconds: int = 3,
    environment: Mapping[str, str] | None = None,
) -> tuple[FunctionSettings, Path, list[Path]]:
    """Settings, code zip and layers for `--artifact PATH`.

    PATH is a build folder (dist/lambda/<function>), one of its zips, or a zip without
    metadata (then --handler and --runtime say what it is).
    """
    if not artifact.exists():
        raise UsageError(f"artifact {artifact} does not exist", "build it with `uv-lambda build`")

    def from_build(folder: Path) -> tuple[FunctionSettings, Path, list[Path]]:
        return settings_from_build(
            read_build(folder),
            name=name,
            handler=handler,
            memory_mb=memory_mb,
            timeout_seconds=timeout_seconds,
            environment=environment,
        )

    if artifact.is_dir():
        return from_build(artifact)
    if metadata_path(artifact).is_file():
        found = read_artifact(artifact)
        if found.metadata.role == "app":
            # app.zip of a split build: its layer.zip sits beside it.
            return from_build(artifact.parent)
        if found.metadata.role == "layer":
            raise UsageError(f"{artifact} is a layer: there is no code to run", "pass the function or app zip")
        settings = settings_from_metadata(
            found,
            name=name,
            handler=handler,
            runtime=runtime,
            memory_mb=memory_mb,
            timeout_seconds=timeout_seconds,
            environment=environment,
            handler_hint="pass --handler module.function",
        )
        return settings, artifact, []
    if not handler or not runtime:
        raise UsageError(
            f"{artifact} has no uv-lambda metadata ({metadata_path(artifact).name})",
            "pass --handler module.function and --runtime python3.X, or build it with `uv-lambda build`",
        )
    settings = FunctionSettings(
        name=name or artifact.stem,
        handler=handler,
        runtime=runtime,
        memory_mb=memory_mb,
        timeout_seconds=timeout_seconds,
        environment=dict(environment or {}),
    )
    return settings, artifact, []


def check_layers(layers: Sequence[Path]) -> list[Path]:
    for layer in layers:
        if not layer.is_file():
            raise UsageError(f"layer {layer} does not exist", "pass the path of a layer zip")
    return list(layers)
