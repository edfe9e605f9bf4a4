"""uv-lambda as the AWS CDK's (Python) build step: local bundling, never Docker.

    pip install 'uv-lambda[cdk]'

    from aws_cdk import aws_lambda as lambda_
    import uv_lambda.cdk as uv_lambda_cdk

    lambda_.Function(self, "Api", **uv_lambda_cdk.function_props("services/api"))

`function_props` builds the project once (to read handler, runtime and architecture from
the build metadata) and returns `Code.from_asset(project, bundling=..., asset_hash_type=
OUTPUT)` with `LocalBundling`: when the CDK stages the asset it calls `try_bundle`, which runs
the same `uv-lambda build` (then an up-to-date check) and copies the zip into the bundling
folder. The asset is that zip byte for byte, and its hash, computed from the output, is the
same on every machine and in every clone; it changes when the artifact does.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import aws_cdk
    import jsii
    from aws_cdk import aws_lambda
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("uv_lambda.cdk needs the AWS CDK: pip install 'uv-lambda[cdk]'") from exc

from uv_lambda import proc
from uv_lambda.bundle import tree
from uv_lambda.model import Architecture, Format

__all__ = [
    "BuildOptions",
    "LambdaBuild",
    "LocalBundling",
    "build",
    "bundling_options",
    "code",
    "function_props",
    "lambda_build",
    "layer_code",
]

# Roles of the artifacts a build writes: "code" is function.zip or, for split, app.zip.
CODE, LAYER = "code", "layer"


class BuildFailed(RuntimeError):
    """`uv-lambda build` failed; the message is its error and hint."""


@dataclass(frozen=True)
class BuildOptions:
    """What to build: the `uv-lambda build` options, as a CDK app states them."""

    project: str
    function: str | None = None
    format: str = Format.ZIP  # zip, or split for a layer plus app code
    architecture: str | None = None
    runtime: str | None = None
    extra_args: tuple[str, ...] = ()  # more `uv-lambda build` options, e.g. ("--no-bytecode",)

    def argv(self) -> list[str]:
        line = ["build", self.project, "--format", self.format, "--json"]
        for option, value in (("--function", self.function), ("--arch", self.architecture)):
            if value:
                line += [option, value]
        if self.runtime:
            line += ["--runtime", self.runtime]
        return [*line, *self.extra_args]


def build(options: BuildOptions) -> list[dict[str, Any]]:
    """Run `uv-lambda build ... --json`; the artifacts' metadata documents (path included).

    A subprocess, as on the command line: the same command line in the same folder is what
    lets the second of two builds (the metadata read, then the bundling) find it up to date.
    """
    completed = proc.run([sys.executable, "-m", "uv_lambda", *options.argv()], check=False)
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.splitlines() if line.startswith(("error:", "hint:"))]
        raise BuildFailed(" ".join(lines) or completed.stderr.strip() or f"exit {completed.returncode}")
    sys.stderr.write(completed.stderr)
    documents: list[dict[str, Any]] = json.loads(completed.stdout)["artifacts"]
    return documents


def _artifact(documents: list[dict[str, Any]], role: str) -> dict[str, Any]:
    roles = {document["role"]: document for document in documents}
    found = roles.get("layer") if role == LAYER else roles.get("function") or roles.get("app")
    if found is None:
        raise BuildFailed(f"the build wrote no {role} artifact (built: {', '.join(sorted(roles))})")
    return found


def _field(options: Any, fields: dict[str, Any], name: str) -> Any:
    return fields[name] if name in fields else getattr(options, name, None)


@jsii.implements(aws_cdk.ILocalBundling)
class LocalBundling:
    """CDK's ILocalBundling with uv-lambda: `try_bundle` builds and fills the output folder.

    ARCHIVED (or AUTO_DISCOVER) output: the zip alone, so the CDK uses it as the asset as it
    is; the metadata stays in the build's own folder. NOT_ARCHIVED: the zip's tree.
    """

    def __init__(self, options: BuildOptions, role: str = CODE) -> None:
        self.options = options
        self.role = role

    # jsii calls this with the options struct as a second positional argument (no
    # keyword-only parameters here); Python code may pass the struct's fields as keywords.
    def try_bundle(self, output_dir: str, options: Any = None, **fields: Any) -> bool:
        output_type = _field(options, fields, "output_type")
        artifact = Path(_artifact(build(self.options), self.role)["path"])
        output = Path(output_dir)
        output.mkdir(parents=True, exist_ok=True)
        if getattr(output_type, "value", output_type) == "NOT_ARCHIVED":
            tree.extract(artifact, output)
        else:
            shutil.copyfile(artifact, output / artifact.name)
        return True


def bundling_options(options: BuildOptions, role: str = CODE) -> Any:
    """aws_cdk.BundlingOptions that bundle locally.

    The image, command and environment are never used (nothing runs in Docker), but the CDK
    stages assets once per source folder and bundling options, and does not tell two local
    bundlers apart: the command names the build, the environment the artifact, so that two
    functions of one project, or a split build's layer and app, stay two assets.
    """
    return aws_cdk.BundlingOptions(
        image=aws_cdk.DockerImage.from_registry("uv-lambda-bundles-locally"),
        command=["uv-lambda", *options.argv()],
        environment={"UV_LAMBDA_ARTIFACT": role},
        local=LocalBundling(options, role),
        output_type=aws_cdk.BundlingOutput.ARCHIVED,
    )


def code(options: BuildOptions, role: str = CODE) -> Any:
    """aws_lambda.Code for the function (or, with role "layer", the layer) of a build."""
    return aws_lambda.Code.from_asset(
        str(Path(options.project).resolve()),
        bundling=bundling_options(options, role),
        asset_hash_type=aws_cdk.AssetHashType.OUTPUT,
    )


def layer_code(options: BuildOptions) -> Any:
    return code(options, LAYER)


def _runtime(name: str) -> Any:
    return aws_lambda.Runtime(name, aws_lambda.RuntimeFamily.PYTHON)


def _architecture(name: str) -> Any:
    return (
        aws_lambda.Architecture.ARM_64 if Architecture(name) is Architecture.ARM64 else aws_lambda.Architecture.X86_64
    )


@dataclass(frozen=True)
class LambdaBuild:
    """A built function as the CDK wants it; `function_props()` for aws_lambda.Function."""

    code: Any  # aws_lambda.Code
    handler: str
    runtime: Any  # aws_lambda.Runtime
    architecture: Any  # aws_lambda.Architecture
    layer_code: Any = None  # aws_lambda.Code of the layer of a split build
    metadata: list[dict[str, Any]] = field(default_factory=list)  # as `uv-lambda build --json` lists it

    def function_props(self) -> dict[str, Any]:
        return {"code": self.code, "handler": self.handler, "runtime": self.runtime, "architecture": self.architecture}


def lambda_build(
    project: str | os.PathLike[str],
    *,
    function: str | None = None,
    format: str = Format.ZIP,
    architecture: str | None = None,
    runtime: str | None = None,
    extra_args: Sequence[str] = (),
) -> LambdaBuild:
    """Build now (for the metadata) and return the Code and settings of the function."""
    options = BuildOptions(str(project), function, format, architecture, runtime, tuple(extra_args))
    documents = build(options)
    main = _artifact(documents, CODE)
    return LambdaBuild(
        code=code(options),
        handler=str(main["handler"]),
        runtime=_runtime(main["runtime"]),
        architecture=_architecture(main["architecture"]),
        layer_code=layer_code(options) if Format(format) is Format.SPLIT else None,
        metadata=documents,
    )


def function_props(project: str | os.PathLike[str], **options: Any) -> dict[str, Any]:
    """code, handler, runtime and architecture for `aws_lambda.Function(scope, id, **props)`."""
    return lambda_build(project, **options).function_props()
