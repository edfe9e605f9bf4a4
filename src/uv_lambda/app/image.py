"""The image use case: a function's configuration and an `ImageTarget` -> a built image.

`build --format image` and `deploy` (which builds into the function's OCI layout and pushes
later, from the plan) both come here, so both stage alike and pick the same defaults: the
base image from the runtime table (`public.ecr.aws/lambda/python:3.X`, `-arm64` for arm64);
without a push, `image-repository` from [tool.uv-lambda] when set (tagged `latest` unless it
names a tag); with neither a push nor an output, an OCI layout in the function's output
folder (dist/lambda/<function>/image).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from uv_lambda.config import FunctionConfig
from uv_lambda.image.reference import ImageTarget, image_target, parse_output, parse_reference
from uv_lambda.project import Project
from uv_lambda.ui import Reporter

if TYPE_CHECKING:  # the builder (registry client, tar, gzip) loads only when an image is built
    from uv_lambda.image.assemble import ImageResult

LAYOUT_FOLDER = "image"  # in the function's output folder: the image a deploy pushes


def configured_target(config: FunctionConfig, flags: ImageTarget) -> ImageTarget:
    """The flags' target, pushed to `image-repository` when no --push or --output says otherwise."""
    if flags.push is not None or not config.image_repository:
        return flags
    pushed = image_target(push=config.image_repository)
    return replace(flags, push=pushed.push, login_registry=pushed.login_registry)


def build_function_image(
    project: Project,
    config: FunctionConfig,
    target: ImageTarget,
    *,
    out_dir: Path,
    reporter: Reporter,
    lock: bool = False,
) -> ImageResult:
    """Stage the function (shared dependency cache, as for zips) and build its image: pushed
    to `target.push` and/or written to `target.output`; with neither, written as an OCI layout
    to out_dir/image. A damaged cached dependency set is made again."""
    from uv_lambda.bundle.pipeline import retrying_damaged, stage_function
    from uv_lambda.image.assemble import build_image

    if target.push is None and target.output is None:
        target = replace(target, output=parse_output(f"oci-layout:{out_dir / LAYOUT_FOLDER}"))
    if target.push is None and target.tag is None:
        target = replace(target, tag=f"{config.aws_name}:latest")

    def build() -> ImageResult:
        with stage_function(project, config, reporter=reporter, lock=lock, never_inputs=[out_dir]) as staged:
            base = target.base or parse_reference(staged.runtime.base_image(staged.architecture))
            return build_image(staged, replace(target, base=base), reporter=reporter)

    return retrying_damaged(build)
