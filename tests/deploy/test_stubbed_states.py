"""States moto never reports (Pending, InProgress, Failed with a reason, throttled polls),
answered by botocore's Stubber with responses it checks against Lambda's service model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from uv_lambda.deploy.aws import AwsClient, CallRules, Connection, RetryPolicy
from uv_lambda.deploy.errors import DeployError
from uv_lambda.deploy.executor import execute
from uv_lambda.deploy.models import (
    BASIC_EXECUTION_POLICY,
    OWNER_TAG,
    DesiredFunction,
    ZipArtifact,
    layer_description,
)
from uv_lambda.deploy.planner import plan_deploy
from uv_lambda.ui import Reporter

ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/uv-lambda-fn"
LAYER_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:fn-dependencies:1"
CODE_SHA = "Y29kZQ=="


@dataclass
class Stubbed:
    aws: AwsClient
    lam: Stubber
    iam: Stubber
    sleeps: list[float] = field(default_factory=list)


@pytest.fixture
def stubbed() -> Iterator[Stubbed]:
    session = botocore.session.get_session()
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    clients = {service: session.create_client(service, **credentials) for service in ("lambda", "iam")}
    sleeps: list[float] = []
    retry = RetryPolicy(base_delay=0.01, wait_delay=0.5, wait_timeout=30)
    aws = AwsClient(lambda service: clients[service], Connection("us-east-1", None, None), retry, sleep=sleeps.append)
    lam, iam = Stubber(clients["lambda"]), Stubber(clients["iam"])
    with lam, iam:
        yield Stubbed(aws, lam, iam, sleeps)
        lam.assert_no_pending_responses()
        iam.assert_no_pending_responses()


def configuration(**changes: object) -> dict[str, Any]:
    """A FunctionConfiguration as Lambda returns it for a deployed zip function."""
    base: dict[str, Any] = {
        "FunctionName": "fn",
        "FunctionArn": FUNCTION_ARN,
        "Runtime": "python3.13",
        "Role": ROLE_ARN,
        "Handler": "app.handler",
        "CodeSize": 1000,
        "Description": "",
        "Timeout": 3,
        "MemorySize": 128,
        "CodeSha256": CODE_SHA,
        "Version": "$LATEST",
        "Layers": [{"Arn": LAYER_ARN, "CodeSize": 2000}],
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "Environment": {"Variables": {}},
    }
    base.update(changes)
    return base


def poll(stubbed: Stubbed, qualifier: str | None = None, **changes: object) -> None:
    expected = {"FunctionName": "fn", **({"Qualifier": qualifier} if qualifier else {})}
    stubbed.lam.add_response("get_function_configuration", configuration(**changes), expected)


def test_pending_then_active(stubbed: Stubbed) -> None:
    poll(stubbed, State="Pending", StateReason="The function is being created.", StateReasonCode="Creating")
    poll(stubbed, State="Pending", StateReasonCode="Creating")
    poll(stubbed, State="Active")

    stubbed.aws.wait_active("fn")

    assert stubbed.sleeps == [0.5, 0.5]


def test_throttled_polls_are_retried(stubbed: Stubbed) -> None:
    poll(stubbed, LastUpdateStatus="InProgress")
    for _ in range(2):
        stubbed.lam.add_client_error(
            "get_function_configuration",
            service_error_code="TooManyRequestsException",
            service_message="Rate exceeded",
            http_status_code=429,
        )
    poll(stubbed, LastUpdateStatus="Successful")

    stubbed.aws.wait_updated("fn")

    assert len(stubbed.sleeps) == 3  # one wait between polls, two backoffs for the throttles


def test_in_progress_then_successful(stubbed: Stubbed) -> None:
    poll(stubbed, LastUpdateStatus="InProgress", LastUpdateStatusReasonCode="Creating")
    poll(stubbed, LastUpdateStatus="Successful")

    stubbed.aws.wait_updated("fn")


def test_a_failed_update_says_why(stubbed: Stubbed) -> None:
    poll(stubbed, LastUpdateStatus="InProgress")
    poll(
        stubbed,
        LastUpdateStatus="Failed",
        LastUpdateStatusReason="Lambda was unable to configure access to your environment variables because the "
        "KMS key is invalid for CreateGrant.",
        LastUpdateStatusReasonCode="KMSKeyAccessDenied",
    )

    with pytest.raises(DeployError) as caught:
        stubbed.aws.wait_updated("fn")

    assert caught.value.message == (
        "the update of fn failed: Lambda was unable to configure access to your environment variables because the "
        "KMS key is invalid for CreateGrant. (KMSKeyAccessDenied)"
    )
    assert caught.value.hint == "fix the cause, then run deploy again: it sends the update again"


def test_a_failed_state_says_why_and_what_fixes_it(stubbed: Stubbed) -> None:
    poll(
        stubbed,
        State="Failed",
        StateReason="Lambda does not have permission to access the ECR image.",
        StateReasonCode="ImageAccessDenied",
    )

    with pytest.raises(DeployError) as caught:
        stubbed.aws.wait_active("fn")

    assert "State Failed: Lambda does not have permission to access the ECR image. (ImageAccessDenied)" in str(
        caught.value
    )
    assert "lambda.amazonaws.com" in (caught.value.hint or "")


def test_an_alias_moves_only_to_an_active_version(stubbed: Stubbed) -> None:
    stubbed.lam.add_response("publish_version", configuration(Version="2", State="Pending"), {"FunctionName": "fn"})
    poll(stubbed, qualifier="2", Version="2", State="Pending")
    poll(stubbed, qualifier="2", Version="2", State="Active")

    assert stubbed.aws.publish_version("fn") == "2"
    assert stubbed.sleeps == [0.5]


def test_a_wait_has_a_deadline(stubbed: Stubbed) -> None:
    stubbed.aws.retry = RetryPolicy(wait_delay=0.5, wait_timeout=0)
    poll(stubbed, State="Pending")

    with pytest.raises(DeployError, match=r"did not become Active within 0 s \(State Pending"):
        stubbed.aws.wait_active("fn")


def test_an_invoke_whose_answer_is_lost_is_not_repeated(stubbed: Stubbed) -> None:
    calls: list[int] = []

    def invoke() -> object:
        calls.append(1)
        raise ReadTimeoutError(endpoint_url="https://lambda.us-east-1.amazonaws.com/")

    with pytest.raises(DeployError, match="did not answer within"):
        stubbed.aws._call("lambda", invoke, rules=CallRules(idempotent=False))
    assert calls == [1]  # the function may have run: no second invoke

    def read() -> object:
        calls.append(1)
        raise ReadTimeoutError(endpoint_url="https://lambda.us-east-1.amazonaws.com/")

    calls.clear()
    with pytest.raises(DeployError):
        stubbed.aws._call("lambda", read)
    assert len(calls) == stubbed.aws.retry.network_attempts


# -- planning from these states -------------------------------------------------------------


def desired(tmp_path: Path) -> DesiredFunction:
    code = tmp_path / "app.zip"
    code.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    layer_sha = "b" * 64
    return DesiredFunction(
        name="fn",
        runtime="python3.13",
        handler="app.handler",
        architecture="x86_64",
        memory=128,
        timeout=3,
        environment={},
        ephemeral_storage=512,
        description="",
        tags={},
        code=ZipArtifact(code, "a" * 64, CODE_SHA, 22, 0),
        layer=ZipArtifact(tmp_path / "layer.zip", layer_sha, "bGF5ZXI=", 2000, 6000),
        extra_layers=(),
        role=None,
        s3_bucket=None,
        url=None,
        publish=False,
        alias=None,
    )


def stub_reads(stubbed: Stubbed, **changes: object) -> None:
    """GetFunction, GetRole, ListAttachedRolePolicies, ListLayerVersions: what a plan reads."""
    stubbed.lam.add_response(
        "get_function",
        {
            "Configuration": configuration(**changes),
            "Code": {"RepositoryType": "S3", "Location": "https://awslambda.s3.amazonaws.com/fn"},
            "Tags": {OWNER_TAG: "fn"},
        },
        {"FunctionName": "fn"},
    )
    stubbed.iam.add_response(
        "get_role",
        {
            "Role": {
                "Path": "/",
                "RoleName": "uv-lambda-fn",
                "RoleId": "AROAEXAMPLEEXAMPLE123",
                "Arn": ROLE_ARN,
                "CreateDate": "2026-01-01T00:00:00Z",
                "Tags": [{"Key": OWNER_TAG, "Value": "fn"}],
            }
        },
        {"RoleName": "uv-lambda-fn"},
    )
    stubbed.iam.add_response(
        "list_attached_role_policies",
        {"AttachedPolicies": [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC_EXECUTION_POLICY}]},
        {"RoleName": "uv-lambda-fn"},
    )
    stubbed.lam.add_response(
        "list_layer_versions",
        {
            "LayerVersions": [
                {
                    "LayerVersionArn": LAYER_ARN,
                    "Version": 1,
                    "Description": layer_description("b" * 64),
                    "CompatibleArchitectures": ["x86_64"],
                }
            ]
        },
        {"LayerName": "fn-dependencies"},
    )


def test_a_healthy_function_plans_nothing(stubbed: Stubbed, tmp_path: Path) -> None:
    stub_reads(stubbed)
    assert plan_deploy(desired(tmp_path), stubbed.aws).is_noop


def test_state_failed_plans_a_recreate_with_a_warning(stubbed: Stubbed, tmp_path: Path) -> None:
    stub_reads(
        stubbed,
        State="Failed",
        StateReason="The role defined for the function cannot be assumed by Lambda.",
        StateReasonCode="InvalidRole",
    )

    plan = plan_deploy(desired(tmp_path), stubbed.aws)

    assert [(step.resource, step.kind) for step in plan.changes] == [("function", "delete"), ("function", "create")]
    assert plan.warnings == (
        "function fn is in State Failed (State Failed: The role defined for the function cannot be assumed by "
        "Lambda.); it is deleted and created again",
    )
    assert plan.function_arn is None


def test_a_failed_update_is_sent_again(stubbed: Stubbed, tmp_path: Path) -> None:
    stub_reads(
        stubbed,
        LastUpdateStatus="Failed",
        LastUpdateStatusReason="The unzipped size must be smaller than 262144000 bytes",
        LastUpdateStatusReasonCode="InvalidParameterValue",
    )

    plan = plan_deploy(desired(tmp_path), stubbed.aws)

    steps = {step.resource: step for step in plan.changes}
    assert set(steps) == {"code", "configuration"}
    assert steps["code"].reason.startswith(
        "the last update failed (The unzipped size must be smaller than 262144000 bytes): send it again"
    )
    fields = dict(steps["configuration"].action.fields)  # type: ignore[union-attr]
    assert {"MemorySize", "Timeout", "Environment", "Layers", "Role", "Handler", "Runtime"} <= set(fields)


def test_an_update_in_progress_is_waited_for_before_changing(stubbed: Stubbed, tmp_path: Path) -> None:
    stub_reads(stubbed, LastUpdateStatus="InProgress")
    wanted = desired(tmp_path)
    wanted = DesiredFunction(**{**wanted.__dict__, "memory": 256})
    plan = plan_deploy(wanted, stubbed.aws)
    assert "still settling (State Active, LastUpdateStatus InProgress)" in plan.warnings[0]

    poll(stubbed, LastUpdateStatus="InProgress")
    poll(stubbed, LastUpdateStatus="Successful")
    stubbed.lam.add_response(
        "update_function_configuration", configuration(MemorySize=256), {"FunctionName": "fn", "MemorySize": 256}
    )
    poll(stubbed, MemorySize=256, LastUpdateStatus="InProgress")
    poll(stubbed, MemorySize=256, LastUpdateStatus="Successful")

    execute(plan, stubbed.aws, Reporter(quiet=True))


def test_a_failed_update_is_sent_again_and_recovers(stubbed: Stubbed, tmp_path: Path) -> None:
    reason = "The unzipped size must be smaller than 262144000 bytes"
    failed = {"LastUpdateStatus": "Failed", "LastUpdateStatusReason": reason}
    stub_reads(stubbed, **failed)
    wanted = desired(tmp_path)
    plan = plan_deploy(wanted, stubbed.aws)

    # The wait before the first change sees the earlier failure: that is what this deploy repairs.
    poll(stubbed, **failed)
    stubbed.lam.add_response(
        "update_function_code",
        configuration(LastUpdateStatus="InProgress"),
        {"FunctionName": "fn", "Architectures": ["x86_64"], "ZipFile": wanted.code.path.read_bytes()},  # type: ignore[union-attr]
    )
    poll(stubbed, LastUpdateStatus="InProgress")
    poll(stubbed, LastUpdateStatus="Successful")
    stubbed.lam.add_response("update_function_configuration", configuration(LastUpdateStatus="InProgress"))
    poll(stubbed, LastUpdateStatus="Successful")

    outcome = execute(plan, stubbed.aws, Reporter(quiet=True))

    assert [step.resource for step in outcome.changed] == ["code", "configuration"]


def test_a_failed_function_is_deleted_and_created_again(stubbed: Stubbed, tmp_path: Path) -> None:
    stub_reads(stubbed, State="Failed", StateReason="The role cannot be assumed.", StateReasonCode="InvalidRole")
    plan = plan_deploy(desired(tmp_path), stubbed.aws)

    stubbed.lam.add_response("delete_function", {}, {"FunctionName": "fn"})
    stubbed.lam.add_response("create_function", configuration(State="Pending", LastUpdateStatus="InProgress"))
    poll(stubbed, State="Pending")
    poll(stubbed, State="Active")

    outcome = execute(plan, stubbed.aws, Reporter(quiet=True))

    assert [(step.resource, step.kind) for step in outcome.changed] == [("function", "delete"), ("function", "create")]
    assert outcome.function_arn == FUNCTION_ARN


# -- a public Function URL, with the resource policy as Lambda's GetPolicy returns it ------------

URL = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/"
# What the console (or an older deploy) wrote before October 2025: the URL statement only.
URL_STATEMENT = {
    "Sid": "FunctionURLAllowPublicAccess",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "lambda:InvokeFunctionUrl",
    "Resource": FUNCTION_ARN,
    "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
}
INVOKE_STATEMENT = {
    "Sid": "FunctionURLAllowInvokeAction",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "lambda:InvokeFunction",
    "Resource": FUNCTION_ARN,
    "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
}


def stub_url_reads(stubbed: Stubbed, statements: list[dict[str, Any]]) -> None:
    import json

    stubbed.lam.add_response(
        "get_function_url_config",
        {
            "FunctionUrl": URL,
            "FunctionArn": FUNCTION_ARN,
            "AuthType": "NONE",
            "CreationTime": "2025-06-01T00:00:00.000+0000",
            "LastModifiedTime": "2025-06-01T00:00:00.000+0000",
        },
        {"FunctionName": "fn"},
    )
    policy = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
    stubbed.lam.add_response(
        "get_policy", {"Policy": json.dumps(policy), "RevisionId": "4a1c0f5e"}, {"FunctionName": "fn"}
    )


def public(tmp_path: Path) -> DesiredFunction:
    from uv_lambda.deploy.models import UrlSpec

    return DesiredFunction(**{**desired(tmp_path).__dict__, "url": UrlSpec("NONE")})


def test_a_url_with_only_the_old_statement_gets_the_invoke_statement(stubbed: Stubbed, tmp_path: Path) -> None:
    stub_reads(stubbed)
    stub_url_reads(stubbed, [URL_STATEMENT])

    plan = plan_deploy(public(tmp_path), stubbed.aws)

    assert [(step.resource, step.target, step.kind) for step in plan.changes] == [
        ("permission", "uv-lambda-function-url-invoke", "create")
    ]
    # Sent with the parameter botocore's service model defines (a model without it refuses the call).
    stubbed.lam.add_response(
        "add_permission",
        {"Statement": "{}"},
        {
            "FunctionName": "fn",
            "StatementId": "uv-lambda-function-url-invoke",
            "Action": "lambda:InvokeFunction",
            "Principal": "*",
            "InvokedViaFunctionUrl": True,
        },
    )
    execute(plan, stubbed.aws, Reporter(quiet=True))


def test_both_statements_under_any_names_are_enough(stubbed: Stubbed, tmp_path: Path) -> None:
    stub_reads(stubbed)
    stub_url_reads(stubbed, [URL_STATEMENT, INVOKE_STATEMENT])

    assert plan_deploy(public(tmp_path), stubbed.aws).is_noop


def test_an_invoke_statement_without_the_url_condition_does_not_count(stubbed: Stubbed, tmp_path: Path) -> None:
    # lambda:InvokeFunction for a service principal, or without the condition, is another grant.
    other = {**INVOKE_STATEMENT, "Sid": "s3", "Principal": {"Service": "s3.amazonaws.com"}}
    stub_reads(stubbed)
    stub_url_reads(stubbed, [URL_STATEMENT, other, {**INVOKE_STATEMENT, "Condition": {}}])

    plan = plan_deploy(public(tmp_path), stubbed.aws)

    assert [(step.target, step.kind) for step in plan.changes] == [("uv-lambda-function-url-invoke", "create")]


def test_an_alias_created_meanwhile_is_moved_not_retried_as_a_conflict(stubbed: Stubbed) -> None:
    alias_arn = f"{FUNCTION_ARN}:live"
    stubbed.lam.add_client_error(
        "create_alias",
        service_error_code="ResourceConflictException",
        service_message=f"Alias already exists: {alias_arn}",
        http_status_code=409,
    )
    stubbed.lam.add_response(
        "get_alias",
        {"AliasArn": alias_arn, "Name": "live", "FunctionVersion": "1"},
        {"FunctionName": "fn", "Name": "live"},
    )
    stubbed.lam.add_response(
        "update_alias",
        {"AliasArn": alias_arn, "Name": "live", "FunctionVersion": "2"},
        {"FunctionName": "fn", "Name": "live", "FunctionVersion": "2"},
    )

    assert stubbed.aws.put_alias("fn", "live", "2", exists=False) == alias_arn
    assert len(stubbed.sleeps) == 1  # one backoff, then the alias was read back and moved
