"""Run a plan: the only code that writes to AWS.

Steps run in plan order; a `Ref` is resolved from the outputs of earlier steps. Each step is
safe to repeat, so a deploy interrupted anywhere converges when run again: the planner then
finds what was already done (a layer version with the same content hash, a created role).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from uv_lambda.deploy.errors import DeployError, DeployInterrupted
from uv_lambda.deploy.models import (
    OWNER_TAG,
    Action,
    AppliedPlan,
    AttachPolicies,
    CodeSource,
    CreateBucket,
    CreateFunction,
    CreateRepository,
    CreateRole,
    DeleteAlias,
    DeleteFunction,
    DeleteFunctionUrl,
    DeleteLayerVersion,
    DeleteRepository,
    DeleteRole,
    FunctionState,
    ImageSource,
    Plan,
    PublishLayer,
    PublishVersion,
    PushImage,
    PutAlias,
    PutFunctionUrl,
    PutObject,
    Ref,
    SetRepositoryPolicy,
    SetUrlPermission,
    Step,
    TagFunction,
    TagRole,
    UpdateCode,
    UpdateConfiguration,
    UrlSpec,
    Value,
    layer_description,
)
from uv_lambda.ui import Reporter


class StateWriter(Protocol):
    """The write calls the executor makes (AwsClient implements them)."""

    def create_bucket(self, bucket: str) -> None: ...
    def create_repository(self, name: str, function_name: str) -> str: ...
    def set_repository_policy(self, name: str, policy_text: str = ...) -> None: ...
    def tag_role(self, role_name: str, function_name: str) -> None: ...
    def registry_login(self, registry: str) -> tuple[str, str]: ...
    def delete_repository(self, name: str) -> None: ...
    def put_object(self, bucket: str, key: str, source: CodeSource) -> None: ...
    def create_role(self, role_name: str, function_name: str) -> str: ...
    def attach_policy(self, role_name: str, policy_arn: str) -> None: ...
    def publish_layer(
        self, layer_name: str, source: CodeSource, description: str, runtime: str, architecture: str
    ) -> str: ...
    def create_function(self, params: Mapping[str, Any]) -> tuple[FunctionState, bool]: ...
    def update_code(self, name: str, source: CodeSource | ImageSource, architecture: str) -> FunctionState: ...
    def update_configuration(self, name: str, fields: Mapping[str, object]) -> None: ...
    def tag(self, arn: str, tags: Mapping[str, str]) -> None: ...
    def untag(self, arn: str, keys: list[str]) -> None: ...
    def put_function_url(self, name: str, url: UrlSpec, *, exists: bool, qualifier: str | None = None) -> str: ...
    def add_url_permission(self, name: str, statement_id: str, qualifier: str | None = None) -> None: ...
    def remove_permission(self, name: str, statement_id: str, qualifier: str | None = None) -> None: ...
    def publish_version(self, name: str) -> str: ...
    def put_alias(self, name: str, alias: str, version: str, *, exists: bool) -> str: ...
    def delete_function(self, name: str) -> None: ...
    def delete_function_url(self, name: str, qualifier: str | None = None) -> None: ...
    def delete_alias(self, name: str, alias: str) -> None: ...
    def delete_layer_version(self, layer_name: str, version: int) -> None: ...
    def delete_role(
        self, role_name: str, policy_arns: tuple[str, ...], inline_policies: tuple[str, ...] = ()
    ) -> None: ...
    def wait_settled(self, name: str) -> None: ...


class _Run:
    def __init__(self, plan: Plan, aws: StateWriter) -> None:
        self.plan = plan
        self.aws = aws
        self.outputs: dict[str, str] = {}
        self.function_arn = plan.function_arn
        self.url = plan.url
        self.version = plan.version
        self.alias: str | None = None
        self.bytes_uploaded = 0
        self._settled = False  # waited once for an in-progress update before the first change
        self.registry_logins: dict[str, Any] = {}  # registry host -> Credentials or None
        self.notes: list[str] = []

    def resolve(self, value: Value) -> str:
        return self.outputs[value.name] if isinstance(value, Ref) else value

    def _resolve_field(self, value: object) -> object:
        if isinstance(value, Ref):
            return self.resolve(value)
        if isinstance(value, list):
            return [self._resolve_field(item) for item in value]
        return value

    def _inline(self, source: CodeSource | ImageSource) -> None:
        # An image was counted when pushed; Lambda only gets its URI.
        if isinstance(source, CodeSource) and not source.via_s3:
            self.bytes_uploaded += source.size

    def _push(self, action: PushImage) -> None:
        from uv_lambda.deploy.images import push_layout, registry_credentials
        from uv_lambda.image.auth import Credentials

        registry = action.target.split("/", 1)[0]
        credentials: Credentials | None
        if registry in self.registry_logins:
            credentials = self.registry_logins[registry]
        elif action.ecr:
            # The ECR token comes through the same AWS session (profile, endpoint) as the rest.
            credentials = Credentials(*self.aws.registry_login(registry))
        else:
            credentials = registry_credentials(registry)
        self.registry_logins[registry] = credentials
        self.bytes_uploaded += push_layout(action.layout, action.target, action.digest, credentials)

    def _settle(self, name: str) -> None:
        # An earlier, interrupted deploy can leave an update running: wait instead of a 409.
        # (One that failed is what a plan from LastUpdateStatus Failed sends again.)
        if not self._settled:
            self.aws.wait_settled(name)
            self._settled = True

    def run(self, step: Step) -> None:
        if step.action is not None:
            _APPLY[type(step.action)](self, step.action)

    # One method per action type; `_APPLY` below maps each type to its method.

    def _create_bucket(self, action: CreateBucket) -> None:
        self.aws.create_bucket(action.bucket)

    def _create_repository(self, action: CreateRepository) -> None:
        self.aws.create_repository(action.name, action.function_name)

    def _set_repository_policy(self, action: SetRepositoryPolicy) -> None:
        self.aws.set_repository_policy(action.name, action.policy_text)

    def _tag_role(self, action: TagRole) -> None:
        self.aws.tag_role(action.role_name, action.function_name)

    def _delete_repository(self, action: DeleteRepository) -> None:
        self.aws.delete_repository(action.name)

    def _put_object(self, action: PutObject) -> None:
        self.aws.put_object(action.bucket, action.key, CodeSource(action.path, action.size))
        self.bytes_uploaded += action.size

    def _create_role(self, action: CreateRole) -> None:
        self.outputs["role_arn"] = self.aws.create_role(action.role_name, action.function_name)
        for policy in action.policy_arns:
            self.aws.attach_policy(action.role_name, policy)

    def _attach_policies(self, action: AttachPolicies) -> None:
        for policy in action.policy_arns:
            self.aws.attach_policy(action.role_name, policy)

    def _publish_layer(self, action: PublishLayer) -> None:
        description = layer_description(action.sha256)
        self.outputs["layer_arn"] = self.aws.publish_layer(
            action.layer_name,
            action.source,
            description,
            action.runtime,
            action.architecture,
        )
        self._inline(action.source)

    def _create_function(self, action: CreateFunction) -> None:
        state, created = self.aws.create_function(self.create_parameters(action))
        if created:
            self._inline(action.source)
        else:
            self._converge(action, state)
        self.function_arn = state.arn
        self._settled = True

    def _update_code(self, action: UpdateCode) -> None:
        self._settle(action.function_name)
        self.aws.update_code(action.function_name, action.source, action.architecture)
        self._inline(action.source)

    def _update_configuration(self, action: UpdateConfiguration) -> None:
        self._settle(action.function_name)
        fields = {field: self._resolve_field(value) for field, value in action.fields}
        self.aws.update_configuration(action.function_name, fields)

    def _tag_function(self, action: TagFunction) -> None:
        if action.add:
            self.aws.tag(action.function_arn, dict(action.add))
        if action.remove:
            self.aws.untag(action.function_arn, list(action.remove))

    def _put_function_url(self, action: PutFunctionUrl) -> None:
        self.url = self.aws.put_function_url(
            action.function_name, action.url, exists=action.exists, qualifier=action.qualifier
        )

    def _set_url_permission(self, action: SetUrlPermission) -> None:
        if action.public:
            self.aws.add_url_permission(action.function_name, action.statement_id, action.qualifier)
        else:
            self.aws.remove_permission(action.function_name, action.statement_id, action.qualifier)

    def _publish_version(self, action: PublishVersion) -> None:
        self.version = self.outputs["version"] = self.aws.publish_version(action.function_name)

    def _put_alias(self, action: PutAlias) -> None:
        self.aws.put_alias(action.function_name, action.alias, self.resolve(action.version), exists=action.exists)
        self.alias = action.alias

    def _delete_alias(self, action: DeleteAlias) -> None:
        self.aws.delete_alias(action.function_name, action.alias)

    def _delete_function_url(self, action: DeleteFunctionUrl) -> None:
        self.aws.delete_function_url(action.function_name, action.qualifier)

    def _delete_function(self, action: DeleteFunction) -> None:
        self.aws.delete_function(action.function_name)

    def _delete_layer_version(self, action: DeleteLayerVersion) -> None:
        self.aws.delete_layer_version(action.layer_name, action.version)

    def _delete_role(self, action: DeleteRole) -> None:
        self.aws.delete_role(action.role_name, action.policy_arns, action.inline_policies)

    def _converge(self, action: CreateFunction, state: FunctionState) -> None:
        """CreateFunction found the function there (a concurrent first deploy won): make it ours.

        Nothing this run sent landed; the function is read back and what differs is updated,
        and the outcome says so instead of counting an upload that did not happen.
        """
        from uv_lambda.deploy.planner import configuration_changes

        function = action.function
        if state.owner != function.name:
            raise DeployError(
                f"function {function.name} was created by someone else while this deploy ran "
                f"({OWNER_TAG} {state.owner or 'not set'})",
                "run deploy again to see the plan; pass --adopt to take it over",
            )
        note = f"{function.name} was created meanwhile by another deploy; CreateFunction uploaded nothing"
        source = action.source
        same_code = (
            state.image_uri == source.uri
            if isinstance(source, ImageSource)
            else state.code_sha256 == (function.code.code_sha256 if function.code else "")
        )
        if not same_code or state.architecture != function.architecture:
            self.aws.update_code(function.name, source, function.architecture)
            self._inline(source)
            note += "; its code differed and was updated"
        role = self.resolve(action.role)
        layers = tuple(self.resolve(layer) for layer in action.layers)
        changes = configuration_changes(function, state, role, layers)
        if changes:
            self.aws.update_configuration(function.name, {field: value for field, value, _ in changes})
            note += "; configuration updated (" + "; ".join(reason for _, _, reason in changes) + ")"
        self.notes.append(note)

    def create_parameters(self, action: CreateFunction) -> dict[str, Any]:
        function = action.function
        params: dict[str, Any] = {
            "FunctionName": function.name,
            "Role": self.resolve(action.role),
            "PackageType": function.package_type,
            "Code": action.source.api_parameters(),
            "Architectures": [function.architecture],
            "Environment": {"Variables": dict(function.environment)},
            "Timeout": function.timeout,
            "MemorySize": function.memory,
            "EphemeralStorage": {"Size": function.ephemeral_storage},
            "Description": function.description,
        }
        if function.package_type == "Zip":  # an image has its runtime and handler in it, and no layers
            params["Runtime"] = function.runtime
            params["Handler"] = function.handler
            params["Layers"] = [self.resolve(layer) for layer in action.layers]
        params["Tags"] = {**function.tags, OWNER_TAG: function.name}
        return params


# What each action does; tests/deploy/test_planner_unit.py checks that every `Action` has an entry.
_APPLY: dict[type[Action], Callable[[_Run, Any], None]] = {
    CreateBucket: _Run._create_bucket,
    PutObject: _Run._put_object,
    CreateRepository: _Run._create_repository,
    SetRepositoryPolicy: _Run._set_repository_policy,
    PushImage: _Run._push,
    CreateRole: _Run._create_role,
    AttachPolicies: _Run._attach_policies,
    TagRole: _Run._tag_role,
    PublishLayer: _Run._publish_layer,
    CreateFunction: _Run._create_function,
    UpdateCode: _Run._update_code,
    UpdateConfiguration: _Run._update_configuration,
    TagFunction: _Run._tag_function,
    PutFunctionUrl: _Run._put_function_url,
    SetUrlPermission: _Run._set_url_permission,
    PublishVersion: _Run._publish_version,
    PutAlias: _Run._put_alias,
    DeleteFunction: _Run._delete_function,
    DeleteFunctionUrl: _Run._delete_function_url,
    DeleteAlias: _Run._delete_alias,
    DeleteLayerVersion: _Run._delete_layer_version,
    DeleteRole: _Run._delete_role,
    DeleteRepository: _Run._delete_repository,
}


def execute(plan: Plan, aws: StateWriter, reporter: Reporter, *, alias: str | None = None) -> AppliedPlan:
    """Run every step that writes; return the summary of what the function is now."""
    run = _Run(plan, aws)
    changed: list[Step] = []
    for number, step in enumerate(plan.changes, start=1):
        try:
            with reporter.step(f"{step.kind} {step.resource} {step.target}"):
                run.run(step)
        except KeyboardInterrupt:
            raise DeployInterrupted(
                f"{plan.operation} of {plan.function} interrupted at step {number} of {len(plan.changes)}",
                f"run `uv-lambda {plan.operation}` again: it picks up from what AWS has now",
            ) from None
        changed.append(step)
    return AppliedPlan(
        function=plan.function,
        function_arn=None if plan.operation == "destroy" else run.function_arn,
        version=run.version,
        alias=run.alias or alias,
        url=None if plan.operation == "destroy" else run.url,
        changed=tuple(changed),
        bytes_uploaded=run.bytes_uploaded,
        notes=tuple(run.notes),
    )
