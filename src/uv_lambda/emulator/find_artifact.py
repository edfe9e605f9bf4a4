"""Find what to run: a build folder, a zip with metadata, or a bare zip with --handler."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from uv_lambda.artifact import metadata_path, read_artifact, read_build
from uv_lambda.config import FunctionConfig, with_overrides
from uv_lambda.emulator.function import function_of_artifact, function_of_build
from uv_lambda.errors import UsageError
from uv_lambda.model import Function


def function_from_path(artifact: Path, flags: Mapping[str, Any]) -> tuple[Function, Path, list[Path]]:
    """The function, code zip and layers for `--artifact PATH`.

    PATH is a build folder (dist/lambda/<function>), one of its zips, or a zip without
    metadata (then --handler and --runtime say what it is). `flags`: the command line's
    settings (handler, runtime, memory, timeout), over the defaults; a runtime is only read
    for a single zip (a build folder says its own).
    """
    if not artifact.exists():
        raise UsageError(f"artifact {artifact} does not exist", "build it with `uv-lambda build`")
    runtime = flags.get("runtime")
    settings = {key: value for key, value in flags.items() if key != "runtime"}

    def configured(name: str, **more: Any) -> FunctionConfig:
        return with_overrides(FunctionConfig(name=name), **settings, **more)

    described = os.path.isfile(metadata_path(artifact))
    if artifact.is_dir() or (described and read_artifact(artifact).metadata.role == "app"):
        # A build folder, or app.zip of a split build: its layer.zip sits beside it.
        folder = artifact if artifact.is_dir() else artifact.parent
        build = read_build(folder)
        return function_of_build(build, configured(build.function))
    if described:
        found = read_artifact(artifact)
        if found.metadata.role == "layer":
            raise UsageError(f"{artifact} is a layer: there is no code to run", "pass the function or app zip")
        function = function_of_artifact(
            found, configured(found.metadata.function), handler_hint="pass --handler module.function"
        )
        return (function.with_runtime(runtime) if runtime else function), artifact, []
    if not flags.get("handler") or not runtime:
        raise UsageError(
            f"{artifact} has no uv-lambda metadata ({artifact.name}.json)",
            "pass --handler module.function and --runtime python3.X, or build it with `uv-lambda build`",
        )
    return Function.configured(configured(artifact.stem, runtime=runtime)), artifact, []


def check_layers(layers: Sequence[Path]) -> list[Path]:
    for layer in layers:
        if not layer.is_file():
            raise UsageError(f"layer {layer} does not exist", "pass the path of a layer zip")
    return list(layers)
