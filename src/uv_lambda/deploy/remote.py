"""Invoke the deployed function (for `uv-lambda invoke --remote`)."""

from __future__ import annotations

from uv_lambda.config import FunctionConfig


def invoke_remote(
    config: FunctionConfig,
    payload: bytes,
    *,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
) -> tuple[bytes, str, str | None]:
    """(result bytes, decoded `Tail` log, X-Amz-Function-Error or None) of one synchronous invoke.

    The configured alias, when there is one, is what gets invoked: it is what deploy points at
    the version it published.
    """
    from uv_lambda.deploy.aws import connect

    aws = connect(region=region, profile=profile, endpoint_url=endpoint_url)
    return aws.invoke(config.aws_name, payload, config.alias)
