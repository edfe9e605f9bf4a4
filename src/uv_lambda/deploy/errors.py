"""Errors of deploy and destroy (kept apart from aws.py so pure modules need no botocore)."""

from __future__ import annotations

from uv_lambda.errors import ExitCode, UvLambdaError


class DeployError(UvLambdaError):
    """Deploying or destroying failed, or would fail; the message names the cause."""


class AwsError(DeployError):
    """An AWS API call answered with an error."""

    def __init__(self, message: str, hint: str | None, *, code: str, operation: str, status: int) -> None:
        super().__init__(message, hint)
        self.code = code
        self.operation = operation
        self.status = status


class DeployInterrupted(DeployError):
    """Ctrl-C between or during steps: some steps ran, and running again converges."""

    exit_code = ExitCode.INTERRUPTED
