"""Container images without a Docker daemon: read a base image, add layers, push or save.

`build_image` is the entry point; `dockerfile` renders the uv guide's Dockerfile for people
who build with Docker instead.
"""

from __future__ import annotations

from uv_lambda.image.auth import Credentials
from uv_lambda.image.pipeline import ImageResult, StagedFunction, build_image

__all__ = ["Credentials", "ImageResult", "StagedFunction", "build_image"]
