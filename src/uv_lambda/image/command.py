"""What `uv-lambda build --format image` needs: its options, and one call from a function's
configuration to a built (and pushed, or saved) image.

Defaults: the base image is the runtime table's (`public.ecr.aws/lambda/python:3.X`, `-arm64`
for arm64); without --push the image goes to `image-repository` from [tool.uv-lambda] when
set; with neither --push, --output nor `image-repository`, it is saved as an OCI layout in
the function's output folder (dist/lambda/<function>/image).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from uv_lambda.config import FunctionConfig
from uv_lambda.errors import UsageError
from uv_lambda.project import Project
from uv_lambda.ui import Reporter

if TYPE_CHECKING:  # the builder (registry client, tar, gzip) loads only when an image is built
    from uv_lambda.image.assemble import ImageResult


def add_image_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("image options (--format image)")
    group.add_argument(
        "--push",
        metavar="REF",
        help="push the image to REGISTRY/REPOSITORY[:TAG] (default: image-repository, if configured)",
    )
    group.add_argument(
        "--output",
        metavar="oci-layout:DIR|docker-archive:FILE",
        help="write the image to a folder or a tar for `docker load` (default without a push: "
        "oci-layout:dist/lambda/<function>/image)",
    )
    group.add_argument(
        "--base-image",
        metavar="REF",
        help="the image to build on (default: public.ecr.aws/lambda/python:3.X[-arm64] for the runtime)",
    )


def check_image_options(push: str | None, output: str | None, base_image: str | None) -> None:
    """Refuse bad --push, --output and --base-image values before any work is done.

    An empty value is most often an unset variable (`--push "$IMAGE"` in CI): it is an
    error, not "no push", so a pipeline never succeeds having pushed nothing.
    """
    from uv_lambda.image.output import parse_output
    from uv_lambda.image.reference import parse_reference

    for flag, value in (("--push", push), ("--output", output), ("--base-image", base_image)):
        if value is not None and not value.strip():
            raise UsageError(
                f"{flag} is empty",
                f"pass a value (is the variable it comes from unset?), or leave {flag} out",
            )
    if push is not None and parse_reference(push).digest:
        raise UsageError(f"cannot push to {push}: a digest names an image, not a place", "push to REPOSITORY:TAG")
    if output is not None:
        parse_output(output)
    if base_image is not None:
        parse_reference(base_image)


def push_target(config: FunctionConfig, push: str | None) -> str | None:
    """--push, else `image-repository` (tagged `latest` when it names no tag)."""
    if push:
        return push
    repository = config.image_repository
    if not repository:
        return None
    return repository if ":" in repository.rsplit("/", 1)[-1] or "@" in repository else f"{repository}:latest"


def build_function_image(
    project: Project,
    config: FunctionConfig,
    *,
    out_dir: Path,
    reporter: Reporter,
    push: str | None = None,
    output: str | None = None,
    base_image: str | None = None,
    lock: bool = False,
) -> ImageResult:
    """Stage the function (shared dependency cache, as for zips) and build its image."""
    from uv_lambda.bundle.pipeline import retrying_damaged, stage_function
    from uv_lambda.image.assemble import build_image

    check_image_options(push, output, base_image)
    target = push_target(config, push)
    if target is None and output is None:
        output = f"oci-layout:{out_dir / 'image'}"

    def build() -> ImageResult:
        with stage_function(project, config, reporter=reporter, lock=lock, never_inputs=[out_dir]) as staged:
            return build_image(
                staged,
                base_image=base_image or staged.runtime.base_image(staged.architecture),
                push=target,
                output=output,
                reporter=reporter,
                tag=f"{config.aws_name}:latest" if target is None else None,
            )

    return retrying_damaged(build)  # a damaged cached dependency set is made again
