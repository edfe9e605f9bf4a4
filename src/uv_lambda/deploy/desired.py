"""What a deploy wants: one DesiredFunction from the config, the build and the command line.

All local checks run here, so a deploy that would be refused is refused before any AWS call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from uv_lambda.artifact import FunctionBuild
from uv_lambda.config import FunctionConfig
from uv_lambda.deploy import checks, names
from uv_lambda.deploy.errors import DeployError
from uv_lambda.deploy.models import DesiredFunction, ImageArtifact
from uv_lambda.errors import UsageError
from uv_lambda.model import Format, Function


@dataclass(frozen=True)
class DeployOptions:
    """Command-line choices that are not in the config."""

    environment: Mapping[str, str]  # --env K=V, over the configured environment
    publish: bool = False
    alias: str | None = None  # --alias, over the configured alias
    prune_layers: int | None = None
    image_repository: str | None = None  # --image-repository, over the configured one
    adopt: bool = False  # --adopt: take over a function or role uv-lambda did not create

    def __post_init__(self) -> None:
        if self.prune_layers is not None and self.prune_layers < 1:
            raise UsageError("--prune-layers must be 1 or more", "it is the number of layer versions to keep")


def _settings(config: FunctionConfig, options: DeployOptions) -> dict[str, Any]:
    """The fields every function has, zip or image: the function's configuration and the
    command line's choices."""
    environment = {**config.environment, **options.environment}
    checks.check_environment(environment)
    alias = options.alias if options.alias is not None else config.alias
    # An empty function-name is a mistake to point out, not a reason to fall back on `name`.
    names.check_function_name(
        config.aws_name if config.function_name is None else config.function_name,
        configured=config.function_name is not None,
    )
    names.check_role_arn(config.role)
    names.check_environment_keys(environment)
    names.check_alias(alias)
    names.check_description(config.description)
    names.check_tags(config.tags, owner_tags=1)
    return {
        "name": config.aws_name,
        "memory": config.memory,
        "timeout": config.timeout,
        "environment": environment,
        "ephemeral_storage": config.ephemeral_storage,
        "description": config.description,
        "tags": dict(config.tags),
        "role": config.role,
        "url": checks.url_spec(config.function_url),
        "publish": options.publish or alias is not None,
        "alias": alias,
        "adopt": options.adopt,
    }


def desired_function(config: FunctionConfig, build: FunctionBuild, options: DeployOptions) -> DesiredFunction:
    """The zip function `config` was built into: the build is what runs, so its metadata (the
    model.Function of the build) says the runtime, architecture and handler."""
    if not Format(build.format).has_code:
        raise DeployError(
            f'the build of {config.name} is a layer only (format = "layer"): no function to deploy',
            'use format = "split" (layer + app code) or "zip"',
        )
    code_artifact = build.code
    if code_artifact is None:
        raise DeployError(f"no function code in {build.folder}", "rebuild with `uv-lambda build`")
    metadata = code_artifact.metadata
    if not metadata.handler:
        raise DeployError(f"{code_artifact.path.name} names no handler", "set handler in [tool.uv-lambda]")
    checks.check_build_metadata(metadata, code_artifact.path)
    code = checks.inspect_zip(code_artifact.path)
    layer = checks.inspect_zip(build.layer.path) if build.layer else None
    checks.check_unzipped_size(code, layer)
    checks.check_layer_count(layer is not None, config.layers)
    names.check_layer_arns(config.layers)
    function = Function.of_build(config, metadata)
    return DesiredFunction(
        runtime=function.runtime.name,
        handler=metadata.handler,
        architecture=function.architecture,
        code=code,
        layer=layer,
        extra_layers=config.layers,
        s3_bucket=config.s3_bucket,
        prune_layers=options.prune_layers,
        **_settings(config, options),
    )


def desired_image_function(config: FunctionConfig, image: ImageArtifact, options: DeployOptions) -> DesiredFunction:
    """An image function: the handler is the image's Cmd and the runtime its base image's."""
    if config.layers:
        raise DeployError(
            f"{config.name} is an image function, and Lambda does not attach layers to images",
            "remove `layers` from its configuration: an image carries everything it needs",
        )
    if options.prune_layers is not None:
        raise DeployError("--prune-layers applies to zip functions", "drop --prune-layers for an image function")
    return DesiredFunction(
        runtime=config.runtime or "",  # unused: an image function has no Runtime setting
        handler=config.handler or "",
        architecture=image.architecture,
        code=None,
        layer=None,
        extra_layers=(),
        s3_bucket=None,
        image=image,
        image_repository=options.image_repository or config.image_repository,
        **_settings(config, options),
    )
