"""The remote-invoke use case: `invoke --remote` runs the deployed function on AWS (its alias,
when configured) with the same output contract as a local run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from uv_lambda.app.local import SelectFunction
from uv_lambda.ui import Reporter

if TYPE_CHECKING:
    from uv_lambda.app.deploy import AwsAccess


@dataclass(frozen=True)
class RemoteResult:
    """What one synchronous invoke returned: the body, the decoded log tail, and what failed
    (the errorType of Lambda's error JSON, else X-Amz-Function-Error; None on success)."""

    body: bytes
    log: str
    failure: str | None


def invoke_deployed(payload: bytes, aws: AwsAccess, reporter: Reporter, select: SelectFunction) -> RemoteResult:
    """Invoke the deployed function `select` gives with `payload`; the payload is refused here
    with the same message as locally, not by AWS."""
    from uv_lambda.deploy.remote import invoke_remote
    from uv_lambda.emulator.function import check_payload
    from uv_lambda.emulator.lambda_errors import error_type_of

    check_payload(payload)
    _, config = select()
    with reporter.step(f"invoking {config.aws_name}" + (f":{config.alias}" if config.alias else "")):
        body, log, function_error = invoke_remote(
            config, payload, region=aws.region, profile=aws.profile, endpoint_url=aws.endpoint_url
        )
    failure = (error_type_of(body) or function_error) if function_error is not None else None
    return RemoteResult(body, log, failure)
