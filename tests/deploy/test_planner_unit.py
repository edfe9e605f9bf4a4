"""Planning logic against an in-memory state (pure logic; the moto tests cover the real calls)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import get_args

import pytest
from botocore.exceptions import ClientError

from uv_lambda.deploy.aws import RetryPolicy, is_retryable, translate_client_error
from uv_lambda.deploy.errors import DeployError, DeployInterrupted
from uv_lambda.deploy.executor import _APPLY, execute
from uv_lambda.deploy.models import (
    BASIC_EXECUTION_POLICY,
    ROLE_TAG,
    URL_INVOKE_PERMISSION_SID,
    URL_PERMISSION_SID,
    Action,
    AliasState,
    DesiredFunction,
    FunctionState,
    LayerVersionState,
    PolicyStatement,
    Ref,
    RepositoryState,
    RoleState,
    UpdateConfiguration,
    UrlSpec,
    UrlState,
    ZipArtifact,
    layer_description,
)
from uv_lambda.deploy.planner import plan_deploy
from uv_lambda.deploy.render import plan_table
from uv_lambda.deploy.teardown import plan_destroy
from uv_lambda.ui import Reporter

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/uv-lambda-fn"
LAYER = f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:fn-dependencies"


@dataclass
class MemoryState:
    """The read side of AWS as plain data."""

    function: FunctionState | None = None
    roles: dict[str, RoleState] = field(default_factory=dict)
    layer_versions: list[LayerVersionState] = field(default_factory=list)
    repositories: dict[str, RepositoryState] = field(default_factory=dict)
    region: str = "us-east-1"

    def account_id(self) -> str:
        return ACCOUNT

    def get_function(self, name: str) -> FunctionState | None:
        return self.function

    def get_role(self, name: str) -> RoleState | None:
        return self.roles.get(name)

    def get_repository(self, name: str) -> RepositoryState | None:
        return self.repositories.get(name)

    def list_layer_versions(self, layer_name: str) -> list[LayerVersionState]:
        return self.layer_versions

    def get_function_url(self, name: str, qualifier: str | None = None) -> UrlState | None:
        return None

    def policy_statements(self, name: str, qualifier: str | None = None) -> list[PolicyStatement]:
        return []

    def get_repository_policy(self, name: str) -> str | None:
        return None

    def list_inline_policies(self, role_name: str) -> tuple[str, ...]:
        return ()

    def functions_using_role(self, role_arn: str) -> list[str]:
        return []

    def list_versions(self, name: str) -> list[FunctionState]:
        return []

    def get_alias(self, name: str, alias: str) -> AliasState | None:
        return None

    def list_aliases(self, name: str) -> list[AliasState]:
        return []

    def bucket_exists(self, bucket: str) -> bool:
        return True

    def object_exists(self, bucket: str, key: str) -> bool:
        return False


def artifact(name: str, sha: str, size: int = 1000) -> ZipArtifact:
    return ZipArtifact(Path(name), sha * 64, f"{sha}-code", size, size * 3)


def desired(**changes: object) -> DesiredFunction:
    base = DesiredFunction(
        name="fn",
        runtime="python3.13",
        handler="app.handler",
        architecture="x86_64",
        memory=128,
        timeout=3,
        environment={"STAGE": "prod"},
        ephemeral_storage=512,
        description="",
        tags={},
        code=artifact("app.zip", "a"),
        layer=artifact("layer.zip", "b"),
        extra_layers=(),
        role=None,
        s3_bucket=None,
        url=None,
        publish=False,
        alias=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def deployed_state() -> MemoryState:
    role = RoleState("uv-lambda-fn", ROLE_ARN, {ROLE_TAG: "fn"}, (BASIC_EXECUTION_POLICY,))
    layer = LayerVersionState(f"{LAYER}:1", 1, layer_description("b" * 64), ("x86_64",))
    function = FunctionState(
        arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn",
        package_type="Zip",
        runtime="python3.13",
        handler="app.handler",
        architecture="x86_64",
        memory=128,
        timeout=3,
        environment={"STAGE": "prod"},
        ephemeral_storage=512,
        description="",
        layers=(f"{LAYER}:1",),
        role=ROLE_ARN,
        code_sha256="a-code",
        tags={ROLE_TAG: "fn"},
    )
    return MemoryState(function, {"uv-lambda-fn": role}, [layer])


def test_nothing_deployed_creates_role_layer_function_in_order() -> None:
    plan = plan_deploy(desired(), MemoryState())

    assert [(s.resource, s.kind) for s in plan.steps] == [
        ("role", "create"),
        ("layer", "create"),
        ("function", "create"),
    ]
    create = plan.steps[-1].action
    assert create is not None and create.role == Ref("role_arn")  # type: ignore[union-attr]
    assert create.layers == (Ref("layer_arn"),)  # type: ignore[union-attr]


def test_matching_state_is_a_noop_with_reasons() -> None:
    plan = plan_deploy(desired(), deployed_state())

    assert plan.is_noop
    assert "nothing to change" in plan_table(plan)
    assert {s.resource for s in plan.steps} == {"role", "layer", "code", "configuration"}


def test_only_differing_fields_are_updated_and_values_stay_out_of_reasons() -> None:
    plan = plan_deploy(desired(memory=512, environment={"STAGE": "prod", "TOKEN": "s3cr3t"}), deployed_state())

    [step] = plan.changes
    assert isinstance(step.action, UpdateConfiguration)
    assert dict(step.action.fields) == {
        "MemorySize": 512,
        "Environment": {"Variables": {"STAGE": "prod", "TOKEN": "s3cr3t"}},
    }
    assert "memory 128 -> 512" in step.reason and "+TOKEN" in step.reason
    assert "s3cr3t" not in plan_table(plan)


def test_layer_with_same_content_but_other_architecture_is_published() -> None:
    plan = plan_deploy(desired(architecture="arm64"), deployed_state())

    kinds = [(s.resource, s.kind) for s in plan.changes]
    assert kinds == [("layer", "create"), ("code", "update"), ("configuration", "update")]
    assert "architecture x86_64 -> arm64" in plan.changes[1].reason


def test_prune_keeps_the_newest_versions() -> None:
    state = deployed_state()
    state.layer_versions = [
        LayerVersionState(f"{LAYER}:{n}", n, layer_description(str(n) * 64), ("x86_64",)) for n in (1, 2, 3)
    ] + [LayerVersionState(f"{LAYER}:4", 4, layer_description("b" * 64), ("x86_64",))]
    assert state.function is not None
    state.function = replace(state.function, layers=(f"{LAYER}:4",))

    plan = plan_deploy(desired(prune_layers=2), state)

    assert [s.target for s in plan.changes] == ["fn-dependencies:1", "fn-dependencies:2"]


def test_a_role_not_made_by_uv_lambda_is_not_taken_over() -> None:
    state = MemoryState(roles={"uv-lambda-fn": RoleState("uv-lambda-fn", ROLE_ARN, {}, ())})

    with pytest.raises(DeployError, match="was not created by uv-lambda"):
        plan_deploy(desired(), state)


def test_destroy_leaves_foreign_layers_and_roles() -> None:
    state = deployed_state()
    state.layer_versions.append(LayerVersionState(f"{LAYER}:2", 2, "hand-made", ()))
    state.roles["uv-lambda-fn"] = replace(state.roles["uv-lambda-fn"], tags={ROLE_TAG: "other"})

    plan = plan_destroy("fn", state)

    assert [(s.resource, s.target) for s in plan.changes] == [
        ("function", "fn"),
        ("layer", "fn-dependencies:1"),
    ]


def test_retry_policy() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=8)
    assert all(0.5 <= policy.delay(0) <= 1 for _ in range(20))
    assert all(4 <= policy.delay(10) <= 8 for _ in range(20))
    assert is_retryable("TooManyRequestsException", 429)
    assert is_retryable("ResourceConflictException", 409)
    assert is_retryable("ServiceException", 500)
    assert not is_retryable("EntityAlreadyExists", 409)
    assert not is_retryable("InvalidParameterValueException", 400)


def test_access_denied_names_the_iam_action() -> None:
    response = {
        "Error": {"Code": "AccessDenied", "Message": "not authorized"},
        "ResponseMetadata": {"HTTPStatusCode": 403},
    }
    error = translate_client_error(ClientError(response, "HeadObject"), "s3")  # type: ignore[arg-type]

    assert error.message == "access denied: s3:GetObject (not authorized)"
    assert error.hint is not None and "s3:GetObject" in error.hint


class RecordingWriter:
    """Records the executor's write calls (pure logic: Ref resolution and step order)."""

    def __init__(self, interrupt_on: str | None = None) -> None:
        self.calls: list[tuple[str, object]] = []
        self.interrupt_on = interrupt_on

    def __getattr__(self, name: str) -> Callable[..., object]:
        answers = {
            "create_role": ROLE_ARN,
            "publish_layer": f"{LAYER}:7",
            "publish_version": "3",
            "put_function_url": "https://u.lambda-url.on.aws/",
        }

        def call(*args: object, **kwargs: object) -> object:
            if name == self.interrupt_on:
                raise KeyboardInterrupt
            self.calls.append((name, args[0] if args else None))
            if name == "create_function":
                params = args[0]
                assert isinstance(params, dict)
                return replace(deployed_state().function, arn="arn:new"), True  # type: ignore[type-var]
            return answers.get(name)

        return call


def test_executor_resolves_refs_in_order(tmp_path: Path) -> None:
    code = tmp_path / "app.zip"
    code.write_bytes(b"zip bytes")
    plan = plan_deploy(desired(code=replace(artifact("app.zip", "a"), path=code), alias="live"), MemoryState())
    writer = RecordingWriter()

    outcome = execute(plan, writer, Reporter(quiet=True))  # type: ignore[arg-type]

    assert [name for name, _ in writer.calls] == [
        "create_role",
        "attach_policy",
        "publish_layer",
        "create_function",
        "publish_version",
        "put_alias",
    ]
    params = writer.calls[3][1]
    assert isinstance(params, dict)
    assert params["Role"] == ROLE_ARN and params["Layers"] == [f"{LAYER}:7"]
    assert params["Code"] == {"ZipFile": b"zip bytes"}
    assert (outcome.function_arn, outcome.version, outcome.alias) == ("arn:new", "3", "live")
    assert [step.resource for step in outcome.changed] == ["role", "layer", "function", "version", "alias"]


def test_the_executor_applies_every_kind_of_action() -> None:
    # A plan action without an entry in the executor's table would fail mid-deploy.
    assert set(_APPLY) == set(get_args(Action))


def test_interrupt_says_how_to_converge() -> None:
    plan = plan_deploy(desired(memory=256), deployed_state())

    with pytest.raises(DeployInterrupted) as caught:
        execute(plan, RecordingWriter(interrupt_on="update_configuration"), Reporter(quiet=True))  # type: ignore[arg-type]

    assert caught.value.exit_code == 130
    assert "interrupted at step 1 of 1" in caught.value.message
    assert caught.value.hint is not None and "again" in caught.value.hint


class NoBucketState(MemoryState):
    def bucket_exists(self, bucket: str) -> bool:
        return False


def test_large_zips_go_through_a_bucket_per_account_and_region() -> None:
    big = replace(artifact("app.zip", "c"), size=60 * 2**20)
    plan = plan_deploy(desired(code=big), NoBucketState())

    steps = [(s.resource, s.kind, s.target) for s in plan.steps]
    bucket = f"uv-lambda-{ACCOUNT}-us-east-1"
    assert ("bucket", "create", bucket) in steps
    assert ("upload", "create", f"s3://{bucket}/uv-lambda/{'c' * 64}.zip") in steps
    create = plan.steps[-1].action
    assert create is not None and create.source.bucket == bucket  # type: ignore[union-attr]


def test_a_configured_bucket_must_exist() -> None:
    big = replace(artifact("app.zip", "c"), size=60 * 2**20)

    with pytest.raises(DeployError, match="the configured S3 bucket mine does not exist"):
        plan_deploy(desired(code=big, s3_bucket="mine"), NoBucketState())


class PublicUrlState(MemoryState):
    def get_function_url(self, name: str, qualifier: str | None = None) -> UrlState | None:
        return UrlState("https://u.lambda-url.on.aws/", "NONE", {})

    def policy_statements(self, name: str, qualifier: str | None = None) -> list[PolicyStatement]:
        return [
            PolicyStatement(
                URL_PERMISSION_SID, "lambda:InvokeFunctionUrl", "*", {"lambda:FunctionUrlAuthType": "NONE"}
            ),
            PolicyStatement(
                URL_INVOKE_PERMISSION_SID, "lambda:InvokeFunction", "*", {"lambda:InvokedViaFunctionUrl": "true"}
            ),
        ]


def test_url_switched_to_iam_auth_drops_the_public_permission() -> None:
    state = deployed_state()
    public = PublicUrlState(state.function, state.roles, state.layer_versions)

    plan = plan_deploy(desired(url=UrlSpec("AWS_IAM")), public)

    assert [(s.resource, s.kind, s.reason) for s in plan.changes] == [
        ("url", "update", "auth NONE -> AWS_IAM"),
        ("permission", "delete", "the URL is no longer public (auth AWS_IAM)"),
        ("permission", "delete", "the URL is no longer public (auth AWS_IAM)"),
    ]
    assert plan_deploy(desired(url=UrlSpec("NONE")), public).is_noop
