"""Turn a uv project into Lambda artifacts; see docs/build.md."""

from uv_lambda.build.pipeline import StagedFunction, build_function, stage_function

__all__ = ["StagedFunction", "build_function", "stage_function"]
