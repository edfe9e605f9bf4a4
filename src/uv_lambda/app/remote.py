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

    check_payload(payload)
    _, config = select()
    with reporter.step(f"invoking {config.aws_name}" + (f":{config.alias}" if config.alias else "")):
        body, log, function_error = invoke_remote(
            config, payload, region=aws.region, profile=aws.profile, endpoint_url=aws.endpoint_url
        )
    failure = (_error_type(body) or function_error) if function_error is not None else None
    return RemoteResult(body, log, failure)


def _error_type(body: bytes) -> str | None:
    """errorType of Lambda's error JSON, when the body is one."""
    import json

    try:
        document = json.loads(body)
    except ValueError:
        return None
    error_type = document.get("errorType") if isinstance(document, dict) else None
    return error_type if isinstance(error_type, str) and error_type else None
