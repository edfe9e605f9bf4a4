"""Read what AWS has (read-only calls only) and compute the steps that make it what is wanted.

The planner never writes. Every step says what it will do and why; a step whose thing is
already right is kept as a `no-change` step so the printed plan shows what was compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from uv_lambda.deploy.errors import DeployError
from uv_lambda.deploy.models import (
    BASIC_EXECUTION_POLICY,
    OWNER_TAG,
    URL_PERMISSIONS,
    AliasState,
    AttachPolicies,
    CodeSource,
    CreateBucket,
    CreateFunction,
    CreateRepository,
    CreateRole,
    DeleteFunction,
    DeleteLayerVersion,
    DesiredFunction,
    FunctionState,
    ImageArtifact,
    ImageSource,
    LayerVersionState,
    Plan,
    PolicyStatement,
    PublishLayer,
    PublishVersion,
    PushImage,
    PutAlias,
    PutFunctionUrl,
    PutObject,
    Ref,
    RepositoryState,
    RoleState,
    SetRepositoryPolicy,
    SetUrlPermission,
    Step,
    TagFunction,
    TagRole,
    UpdateCode,
    UpdateConfiguration,
    UrlSpec,
    UrlState,
    Value,
    ZipArtifact,
    repository_name_for,
)
from uv_lambda.image.reference import parse_repository
from uv_lambda.limits import ZIP_UPLOAD_LIMIT
from uv_lambda.runtimes import Architecture
from uv_lambda.ui import human_size


class StateReader(Protocol):
    """The read-only calls the planner needs (AwsClient implements them)."""

    @property
    def region(self) -> str: ...
    def account_id(self) -> str: ...
    def get_function(self, name: str) -> FunctionState | None: ...
    def get_repository(self, name: str) -> RepositoryState | None: ...
    def get_role(self, name: str) -> RoleState | None: ...
    def list_layer_versions(self, layer_name: str) -> list[LayerVersionState]: ...
    def get_function_url(self, name: str, qualifier: str | None = None) -> UrlState | None: ...
    def policy_statements(self, name: str, qualifier: str | None = None) -> list[PolicyStatement]: ...
    def get_repository_policy(self, name: str) -> str | None: ...
    def list_versions(self, name: str) -> list[FunctionState]: ...
    def get_alias(self, name: str, alias: str) -> AliasState | None: ...
    def list_aliases(self, name: str) -> list[AliasState]: ...
    def bucket_exists(self, bucket: str) -> bool: ...
    def object_exists(self, bucket: str, key: str) -> bool: ...


def short(digest: str) -> str:
    return digest[:10] + "…" if len(digest) > 10 else digest


def default_bucket(account: str, region: str) -> str:
    return f"uv-lambda-{account}-{region}"


class _Uploads:
    """Decides how each zip reaches Lambda; adds bucket and upload steps only when S3 is needed."""

    def __init__(self, desired: DesiredFunction, reader: StateReader, steps: list[Step]) -> None:
        self._desired = desired
        self._reader = reader
        self._steps = steps
        self._bucket: str | None = None

    def source(self, artifact: ZipArtifact) -> CodeSource:
        if artifact.size <= ZIP_UPLOAD_LIMIT:
            return CodeSource(artifact.path, artifact.size)
        bucket = self._ensure_bucket()
        key = f"uv-lambda/{artifact.sha256}.zip"  # content-addressed: an upload is never repeated
        if self._reader.object_exists(bucket, key):
            self._steps.append(Step("upload", f"s3://{bucket}/{key}", "no-change", "already uploaded"))
        else:
            reason = f"{artifact.path.name} is over {ZIP_UPLOAD_LIMIT // 2**20} MB: upload through S3"
            self._steps.append(
                Step(
                    "upload",
                    f"s3://{bucket}/{key}",
                    "create",
                    reason,
                    PutObject(bucket, key, artifact.path, artifact.size),
                )
            )
        return CodeSource(artifact.path, artifact.size, bucket, key)

    def _ensure_bucket(self) -> str:
        if self._bucket is not None:
            return self._bucket
        bucket = self._desired.s3_bucket or default_bucket(self._reader.account_id(), self._reader.region)
        if not self._reader.bucket_exists(bucket):
            if self._desired.s3_bucket:
                raise DeployError(
                    f"the configured S3 bucket {bucket} does not exist",
                    "create it, or drop s3-bucket: uv-lambda then makes one per account and region",
                )
            self._steps.append(
                Step(
                    "bucket",
                    bucket,
                    "create",
                    "for zips over 50 MB",
                    CreateBucket(bucket, self._reader.region),
                )
            )
        self._bucket = bucket
        return bucket


def plan_deploy(desired: DesiredFunction, reader: StateReader) -> Plan:
    steps: list[Step] = []
    warnings: list[str] = []
    current = reader.get_function(desired.name)
    if current is not None and current.package_type != desired.package_type:
        raise DeployError(
            f"function {desired.name} exists with package type {current.package_type}, "
            f"not {desired.package_type} (Lambda cannot change it in place)",
            "run `uv-lambda destroy` first, or set function-name to deploy it under another name",
        )
    uploads = _Uploads(desired, reader, steps)
    image: _ImagePush | None = None
    if desired.image is not None:
        image = _plan_repository(desired, desired.image, reader, steps)
    role = _plan_role(desired, reader, steps, warnings)
    if current is not None:
        _check_owner(desired, current, role, warnings)
        if current.failed:
            # A function whose creation failed cannot be updated back to health: recreate it.
            reason = f"State Failed: {current.state_reason or 'no reason given'}"
            warnings.append(f"function {desired.name} is in State Failed ({reason}); it is deleted and created again")
            steps.append(Step("function", desired.name, "delete", reason, DeleteFunction(desired.name)))
            current = None
        elif current.update_failed:
            warnings.append(
                f"the last update of {desired.name} failed ({current.last_update_reason or 'no reason given'}): "
                "its code and configuration are sent again"
            )
        elif current.last_update_status == "InProgress" or current.state == "Pending":
            warnings.append(
                f"function {desired.name} is still settling (State {current.state}, LastUpdateStatus "
                f"{current.last_update_status}): deploy waits for it before changing it"
            )
    layers: tuple[Value, ...] = desired.extra_layers
    versions: list[LayerVersionState] = []
    if desired.layer is not None:
        versions = reader.list_layer_versions(desired.layer_name)
        attached = current.layers if current is not None else ()
        layers = (_plan_layer(desired, desired.layer, versions, attached, uploads, steps), *layers)

    if current is None:
        source: CodeSource | ImageSource
        if image is not None:
            source = image.push(steps, "new function")
            size = image.artifact.size
        else:
            source = uploads.source(_zip(desired))
            size = _zip(desired).size
        digest = image.artifact.digest.removeprefix("sha256:") if image is not None else _zip(desired).code_sha256
        reason = (
            f"new {desired.package_type.lower()} function ("
            + (f"{desired.runtime}, " if image is None else "")
            + f"{desired.architecture}, {desired.memory} MB memory; "
            + f"{'image' if image is not None else 'code'} {human_size(size)}, sha256 {short(digest)})"
        )
        steps.append(
            Step(
                "function",
                desired.name,
                "create",
                reason,
                CreateFunction(desired, role, layers, source),
            )
        )
    else:
        _plan_updates(_Wanted(desired, role, layers, image), current, uploads, steps)

    # The URL serves the alias when there is one: plan it after the alias (which it needs).
    version = _plan_version_and_alias(_Wanted(desired, role, layers, image), current, reader, steps)
    url = _plan_url(desired, current, reader, steps)
    if desired.prune_layers is not None and desired.layer is not None:
        in_use = {layer for layer in layers if isinstance(layer, str)}
        _plan_prune(desired, versions, in_use, steps)
    return Plan(
        operation="deploy",
        function=desired.name,
        region=reader.region,
        steps=tuple(steps),
        function_arn=current.arn if current else None,
        url=url,
        version=version,
        warnings=tuple(warnings),
    )


def _check_owner(desired: DesiredFunction, current: FunctionState, role: Value, warnings: list[str]) -> None:
    """Refuse to change a function uv-lambda's owner tag does not name, unless --adopt."""
    if current.owner == desired.name:
        return
    # Deployed before functions carried the tag: it runs with the role uv-lambda made for it.
    if current.owner is None and desired.role is None and isinstance(role, str) and current.role == role:
        return
    what = "has no uv-lambda owner tag" if current.owner is None else f"is tagged as {current.owner}'s"
    if not desired.adopt:
        raise DeployError(
            f"function {desired.name} exists and {what} ({OWNER_TAG}): uv-lambda did not create it for this project",
            "pass --adopt to take it over (the plan shows what changes), or set function-name to another name",
        )
    warnings.append(
        f"adopting function {desired.name}, which {what}: its code, configuration and tags are "
        "replaced by this project's, and destroy will delete it"
    )


def _zip(desired: DesiredFunction) -> ZipArtifact:
    assert desired.code is not None, "a zip function without code: desired_function refuses it"
    return desired.code


class _ImagePush:
    """Where an image function's image goes, and the step that pushes it (added once, if needed)."""

    def __init__(self, artifact: ImageArtifact, repository_uri: str, tag: str, *, ecr: bool) -> None:
        self.artifact = artifact
        self.repository_uri = repository_uri  # REGISTRY/REPO
        self.tag = tag
        self.ecr = ecr
        self._pushed = False

    @property
    def uri(self) -> str:
        """What ImageUri is set to: the repository pinned to the built digest."""
        return f"{self.repository_uri}@{self.artifact.digest}"

    def push(self, steps: list[Step], why: str) -> ImageSource:
        if not self._pushed:
            target = f"{self.repository_uri}:{self.tag}"
            digest = short(self.artifact.digest.removeprefix("sha256:"))
            reason = f"{why}: push {digest}, {human_size(self.artifact.size)} (only the blobs it lacks)"
            action = PushImage(self.artifact.layout, target, self.artifact.digest, self.artifact.size, ecr=self.ecr)
            steps.append(Step("image", target, "create", reason, action))
            self._pushed = True
        return ImageSource(self.uri)


def ecr_registry_host(account: str, region: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


def _plan_repository(
    desired: DesiredFunction, artifact: ImageArtifact, reader: StateReader, steps: list[Step]
) -> _ImagePush:
    from uv_lambda.deploy.images import is_ecr
    from uv_lambda.image.credentials import ecr_region

    tag = "latest"
    configured = parse_repository(desired.image_repository) if desired.image_repository is not None else None
    if configured is not None:
        registry, path, tag = configured.registry, configured.repository, configured.identifier
        if not is_ecr(registry):
            target = f"{registry}/{path}"
            steps.append(Step("repository", target, "no-change", "configured registry (not managed by uv-lambda)"))
            return _ImagePush(artifact, target, tag, ecr=False)
        region = ecr_region(registry)
        if region != reader.region:
            raise DeployError(
                f"image-repository {desired.image_repository} is in {region}, the function in {reader.region}",
                "Lambda runs images from ECR in the function's own region: use a repository there",
            )
        name = path
    else:
        name = repository_name_for(desired.name)
    state = reader.get_repository(name)
    if state is not None:
        if state.created_for(desired.name):
            reason = "ECR repository created by uv-lambda for this function"
        else:
            reason = "ECR repository (not created by uv-lambda: destroy leaves it)"
        steps.append(Step("repository", state.uri, "no-change", reason))
        if state.created_for(desired.name):
            _plan_repository_policy(state.name, reader.get_repository_policy(state.name), steps)
        return _ImagePush(artifact, state.uri, tag, ecr=True)
    if configured is not None:
        uri = f"{configured.registry}/{name}"
    else:
        uri = f"{ecr_registry_host(reader.account_id(), reader.region)}/{name}"
    steps.append(
        Step("repository", uri, "create", "ECR repository for the image", CreateRepository(name, desired.name))
    )
    _plan_repository_policy(name, None, steps)
    return _ImagePush(artifact, uri, tag, ecr=True)


def lets_lambda_pull(policy_text: str | None) -> bool:
    """Whether a repository policy allows lambda.amazonaws.com both actions a pull needs."""
    import json

    from uv_lambda.deploy.models import ECR_LAMBDA_ACTIONS

    if not policy_text:
        return False
    try:
        statements = json.loads(policy_text).get("Statement", [])
    except (ValueError, AttributeError):
        return False
    allowed: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        if "lambda.amazonaws.com" not in ([services] if isinstance(services, str) else services):
            continue
        actions = statement.get("Action", [])
        allowed.update([actions] if isinstance(actions, str) else actions)
    return "ecr:*" in allowed or all(action in allowed for action in ECR_LAMBDA_ACTIONS)


def with_lambda_pull(policy_text: str | None) -> tuple[str, int]:
    """The repository policy with uv-lambda's pull statement added (or replaced), and how many
    other statements it keeps: SetRepositoryPolicy replaces the whole document, and a
    statement someone added to the repository must not go with it."""
    import json

    from uv_lambda.deploy.models import ECR_LAMBDA_POLICY, ECR_LAMBDA_SID

    ours = json.loads(ECR_LAMBDA_POLICY)
    try:
        document = json.loads(policy_text or "")
        statements = document["Statement"]
    except (ValueError, TypeError, KeyError):
        return ECR_LAMBDA_POLICY, 0  # none (or unreadable): ours alone
    if not isinstance(document, dict) or not isinstance(statements, list | dict):
        return ECR_LAMBDA_POLICY, 0
    listed = statements if isinstance(statements, list) else [statements]
    kept = [item for item in listed if not (isinstance(item, dict) and item.get("Sid") == ECR_LAMBDA_SID)]
    document["Statement"] = [*kept, *ours["Statement"]]
    return json.dumps(document, separators=(",", ":")), len(kept)


def _plan_repository_policy(name: str, policy_text: str | None, steps: list[Step]) -> None:
    if lets_lambda_pull(policy_text):
        steps.append(Step("repository-policy", name, "no-change", "lets lambda.amazonaws.com pull"))
        return
    policy, kept = with_lambda_pull(policy_text)
    reason = "let lambda.amazonaws.com pull (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer)"
    if kept:
        reason += f"; its {kept} other statement{'s' if kept != 1 else ''} kept"
    steps.append(Step("repository-policy", name, "create", reason, SetRepositoryPolicy(name, policy)))


def _plan_role(desired: DesiredFunction, reader: StateReader, steps: list[Step], warnings: list[str]) -> Value:
    if desired.role is not None:
        if desired.role.startswith("arn:"):
            steps.append(Step("role", desired.role, "no-change", "configured role (not managed by uv-lambda)"))
            return desired.role
        named = reader.get_role(desired.role)
        if named is None:
            raise DeployError(
                f"the configured role {desired.role} does not exist",
                "set role to an existing role ARN",
            )
        steps.append(Step("role", named.arn, "no-change", "configured role (not managed by uv-lambda)"))
        return named.arn
    role = reader.get_role(desired.role_name)
    if role is None:
        reason = "execution role: Lambda trust policy + AWSLambdaBasicExecutionRole"
        action = CreateRole(desired.role_name, desired.name, (BASIC_EXECUTION_POLICY,))
        steps.append(Step("role", desired.role_name, "create", reason, action))
        return Ref("role_arn")
    if not role.owned_by(desired.name):
        what = "was not created by uv-lambda" if not role.created_by_uv_lambda else f"is {role.tags[OWNER_TAG]}'s"
        if not desired.adopt:
            raise DeployError(
                f"IAM role {role.name} exists but {what}",
                'set role = "<its ARN>" in [tool.uv-lambda] to use it, pass --adopt to take it over, '
                "or pick another function-name",
            )
        warnings.append(f"adopting IAM role {role.name}, which {what}: it is tagged as this function's")
        steps.append(Step("role", role.name, "update", f"adopt: tag {OWNER_TAG}", TagRole(role.name, desired.name)))
    if BASIC_EXECUTION_POLICY not in role.attached_policies:
        attach = AttachPolicies(role.name, (BASIC_EXECUTION_POLICY,))
        steps.append(Step("role", role.name, "update", "attach AWSLambdaBasicExecutionRole", attach))
    else:
        steps.append(Step("role", role.name, "no-change", "exists with AWSLambdaBasicExecutionRole"))
    return role.arn


def _same_content(
    layer: ZipArtifact, versions: list[LayerVersionState], attached: tuple[str, ...], architecture: Architecture
) -> LayerVersionState | None:
    """A version holding `layer`'s content: the one the function uses if it is one (two racing
    first deploys each publish a version, and the next deploy must not swap one for the
    other), else the newest."""
    same = [
        version
        for version in versions
        if version.content_sha256 == layer.sha256
        and (not version.architectures or architecture in version.architectures)
    ]
    candidates = [version for version in same if version.arn in attached] or same
    return candidates[-1] if candidates else None


def _plan_layer(
    desired: DesiredFunction,
    layer: ZipArtifact,
    versions: list[LayerVersionState],
    attached: tuple[str, ...],
    uploads: _Uploads,
    steps: list[Step],
) -> Value:
    """The built layer's ARN: a version AWS already holds, or a new one (`attached`: the layer
    ARNs the function uses now)."""
    version = _same_content(layer, versions, attached, desired.architecture)
    if version is not None:
        reason = f"version {version.version} holds the same content (sha256 {short(layer.sha256)})"
        steps.append(Step("layer", desired.layer_name, "no-change", reason))
        return version.arn
    source = uploads.source(layer)
    reason = f"new layer version ({human_size(layer.size)}, content sha256 {short(layer.sha256)})"
    action = PublishLayer(desired.layer_name, source, layer.sha256, desired.runtime, desired.architecture)
    steps.append(Step("layer", desired.layer_name, "create", reason, action))
    return Ref("layer_arn")


def _describe_value(value: Value) -> str:
    if isinstance(value, Ref):
        return {
            "role_arn": "the new role",
            "layer_arn": "the new layer version",
            "version": "the new version",
        }[value.name]
    return value.rsplit(":", 2)[-2] + ":" + value.rsplit(":", 1)[-1] if value.count(":") >= 2 else value


def _environment_change(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    # Names only: values may be secrets and plans end up in CI logs.
    added = [f"+{key}" for key in new if key not in old]
    removed = [f"-{key}" for key in old if key not in new]
    changed = [f"~{key}" for key in new if key in old and old[key] != new[key]]
    return "environment " + " ".join(added + removed + changed)


def configuration_changes(
    desired: DesiredFunction, current: FunctionState, role: Value, layers: tuple[Value, ...]
) -> list[tuple[str, object, str]]:
    """(API field, new value, human reason) for every configuration field that differs."""
    changes: list[tuple[str, object, str]] = []

    def compare(field: str, old: object, new: object, label: str) -> None:
        if old != new:
            changes.append((field, new, f"{label} {old} -> {new}"))

    if desired.image is None:  # an image carries its runtime and handler (Cmd) itself
        compare("Runtime", current.runtime, desired.runtime, "runtime")
        compare("Handler", current.handler, desired.handler, "handler")
    compare("MemorySize", current.memory, desired.memory, "memory")
    compare("Timeout", current.timeout, desired.timeout, "timeout")
    if dict(current.environment) != dict(desired.environment):
        reason = _environment_change(current.environment, desired.environment)
        changes.append(("Environment", {"Variables": dict(desired.environment)}, reason))
    if current.ephemeral_storage != desired.ephemeral_storage:
        reason = f"ephemeral storage {current.ephemeral_storage} -> {desired.ephemeral_storage}"
        changes.append(("EphemeralStorage", {"Size": desired.ephemeral_storage}, reason))
    if current.description != desired.description:
        changes.append(("Description", desired.description, "description"))
    if current.role != role:
        changes.append(("Role", role, f"role -> {_describe_value(role)}"))
    if current.layers != layers and desired.image is None:
        if any(isinstance(layer, Ref) for layer in layers):
            reason = "layers: new layer version"
        else:
            old = ", ".join(_describe_value(layer) for layer in current.layers) or "none"
            reason = f"layers {old} -> " + (", ".join(_describe_value(layer) for layer in layers) or "none")
        changes.append(("Layers", list(layers), reason))
    return changes


def wanted_function_tags(desired: DesiredFunction) -> dict[str, str]:
    """The configured tags and the owner tag."""
    return {**desired.tags, OWNER_TAG: desired.name}


def all_configuration(
    desired: DesiredFunction, role: Value, layers: tuple[Value, ...]
) -> list[tuple[str, object, str]]:
    """Every compared configuration field as wanted (to send again after a failed update)."""
    fields: list[tuple[str, object, str]] = []
    if desired.image is None:
        fields += [("Runtime", desired.runtime, "runtime"), ("Handler", desired.handler, "handler")]
        fields.append(("Layers", list(layers), "layers"))
    fields += [
        ("MemorySize", desired.memory, "memory"),
        ("Timeout", desired.timeout, "timeout"),
        ("Environment", {"Variables": dict(desired.environment)}, "environment"),
        ("EphemeralStorage", {"Size": desired.ephemeral_storage}, "ephemeral storage"),
        ("Description", desired.description, "description"),
        ("Role", role, "role"),
    ]
    return fields


@dataclass(frozen=True)
class _Wanted:
    """The function as the plan leaves it: its role and layers may be Refs to earlier steps."""

    desired: DesiredFunction
    role: Value
    layers: tuple[Value, ...]
    image: _ImagePush | None


def _plan_updates(wanted: _Wanted, current: FunctionState, uploads: _Uploads, steps: list[Step]) -> None:
    desired, role, layers, image = wanted.desired, wanted.role, wanted.layers, wanted.image
    name = desired.name
    reasons = []
    if current.update_failed:
        # The failed update may have been of code or configuration: send both again.
        reasons.append(f"the last update failed ({current.last_update_reason or 'no reason given'}): send it again")
    if image is not None:
        if current.image_uri != image.uri:
            reasons.append(
                f"image {_describe_image(current.image_uri)} -> {_describe_image(image.uri)} "
                f"({human_size(image.artifact.size)})"
            )
    elif current.code_sha256 != _zip(desired).code_sha256:
        reasons.append(
            f"code sha256 {short(current.code_sha256)} -> {short(_zip(desired).code_sha256)} "
            f"({human_size(_zip(desired).size)})"
        )
    if current.architecture != desired.architecture:
        # Architectures is a parameter of UpdateFunctionCode, not of the configuration.
        reasons.append(f"architecture {current.architecture} -> {desired.architecture}")
    if reasons:
        source = image.push(steps, "new image") if image is not None else uploads.source(_zip(desired))
        action = UpdateCode(name, source, desired.architecture)
        steps.append(Step("code", name, "update", ", ".join(reasons), action))
    elif image is not None:
        steps.append(
            Step("code", name, "no-change", f"ImageUri {_describe_image(current.image_uri)} matches the build")
        )
    else:
        steps.append(
            Step(
                "code",
                name,
                "no-change",
                f"CodeSha256 {short(current.code_sha256)} matches the build",
            )
        )

    changes = configuration_changes(desired, current, role, layers)
    if current.update_failed:
        sent = {field for field, _, _ in changes}
        changes += [change for change in all_configuration(desired, role, layers) if change[0] not in sent]
    if changes:
        fields = tuple((field, value) for field, value, _ in changes)
        reason = "; ".join(reason for _, _, reason in changes)
        steps.append(Step("configuration", name, "update", reason, UpdateConfiguration(name, fields)))
    else:
        steps.append(Step("configuration", name, "no-change", "every compared field matches"))

    # Tags AWS sets itself ("aws:...") cannot be changed and are not ours to compare.
    current_tags = {key: value for key, value in current.tags.items() if not key.startswith("aws:")}
    wanted_tags = wanted_function_tags(desired)
    add = tuple(sorted((key, value) for key, value in wanted_tags.items() if current_tags.get(key) != value))
    remove = tuple(sorted(key for key in current_tags if key not in wanted_tags))
    if add or remove:
        reason = " ".join([f"+{key}" for key, _ in add] + [f"-{key}" for key in remove])
        steps.append(Step("tags", name, "update", f"tags {reason}", TagFunction(current.arn, add, remove)))


def _describe_image(uri: str) -> str:
    """`REGISTRY/REPO@sha256:abc…` shortened to `REPO@abc…` for the plan table."""
    if not uri:
        return "unknown"
    repository, _, digest = uri.partition("@")
    return f"{repository.rsplit('/', 1)[-1]}@{short(digest.removeprefix('sha256:'))}" if digest else uri


def _cors_matches(current: Mapping[str, object], wanted: UrlSpec) -> bool:
    desired = wanted.cors.to_api() if wanted.cors else {}
    for key in (
        "AllowOrigins",
        "AllowMethods",
        "AllowHeaders",
        "ExposeHeaders",
        "AllowCredentials",
        "MaxAge",
    ):
        old, new = current.get(key), desired.get(key)
        if isinstance(old, list) or isinstance(new, list):
            if sorted(old or []) != sorted(new or []):  # type: ignore[call-overload]
                return False
        elif (old or None) != (new or None):  # absent, False, 0 and empty all mean "not set"
            return False
    return True


def _plan_url(
    desired: DesiredFunction, current: FunctionState | None, reader: StateReader, steps: list[Step]
) -> str | None:
    if desired.url is None:
        return None  # not configured: an existing URL is left alone
    wanted = desired.url
    qualifier = desired.alias  # the URL follows the alias: it serves what the alias points at
    target = f"{desired.name}:{qualifier}" if qualifier else desired.name
    state = reader.get_function_url(desired.name, qualifier) if current is not None else None
    if state is None:
        action = PutFunctionUrl(desired.name, wanted, exists=False, qualifier=qualifier)
        steps.append(Step("url", target, "create", f"Function URL, auth {wanted.auth_type}", action))
    elif state.auth_type != wanted.auth_type or not _cors_matches(state.cors, wanted):
        reason = f"auth {state.auth_type} -> {wanted.auth_type}" if state.auth_type != wanted.auth_type else "cors"
        steps.append(
            Step(
                "url",
                target,
                "update",
                reason,
                PutFunctionUrl(desired.name, wanted, exists=True, qualifier=qualifier),
            )
        )
    else:
        steps.append(Step("url", target, "no-change", f"{state.url} (auth {state.auth_type})"))

    statements = reader.policy_statements(desired.name, qualifier) if current is not None else []
    for sid, action_name in URL_PERMISSIONS:
        present = any(_grants_public_url(statement, action_name) for statement in statements)
        ours = any(statement.sid == sid for statement in statements)
        if wanted.auth_type == "NONE" and not present:
            reason = f"allow anyone {action_name} through the URL (auth NONE needs it)"
            grant = SetUrlPermission(desired.name, True, sid, qualifier)
            if ours:  # a statement of that name that grants something else: replace it
                steps.append(
                    Step("permission", sid, "delete", "replaced", SetUrlPermission(desired.name, False, sid, qualifier))
                )
            steps.append(Step("permission", sid, "create", reason, grant))
        elif wanted.auth_type == "NONE":
            steps.append(Step("permission", sid, "no-change", f"{action_name} for * through the URL"))
        elif ours:
            reason = "the URL is no longer public (auth AWS_IAM)"
            steps.append(
                Step("permission", sid, "delete", reason, SetUrlPermission(desired.name, False, sid, qualifier))
            )
    return state.url if state else None


def _grants_public_url(statement: PolicyStatement, action: str) -> bool:
    """The statement AWS wants for a public URL: `action` for "*", under the URL's condition."""
    if statement.action != action or statement.principal != "*":
        return False
    if action == "lambda:InvokeFunctionUrl":
        return statement.conditions.get("lambda:FunctionUrlAuthType", "").upper() == "NONE"
    return statement.conditions.get("lambda:InvokedViaFunctionUrl", "").lower() == "true"


def _plan_version_and_alias(
    wanted: _Wanted, current: FunctionState | None, reader: StateReader, steps: list[Step]
) -> str | None:
    desired, role, layers, image = wanted.desired, wanted.role, wanted.layers, wanted.image
    if not desired.publish and desired.alias is None:  # an alias needs a version to point at
        return None
    function_changes = any(step.writes and step.resource in ("function", "code", "configuration") for step in steps)
    versions = reader.list_versions(desired.name) if current is not None else []
    latest = versions[-1] if versions else None
    version: Value
    publish = PublishVersion(desired.name)
    if function_changes:
        steps.append(Step("version", desired.name, "create", "code or configuration changed", publish))
        version = Ref("version")
    elif latest is None:
        steps.append(Step("version", desired.name, "create", "no published version yet", publish))
        version = Ref("version")
    else:
        stale = [reason for _, _, reason in configuration_changes(desired, latest, role, layers)]
        if image is not None:
            # Versions are listed without their ImageUri; $LATEST runs the wanted image here
            # (no code step wrote), so the same CodeSha256 means the same image.
            assert current is not None
            if latest.code_sha256 != current.code_sha256:
                stale.insert(0, "image")
        elif latest.code_sha256 != _zip(desired).code_sha256:
            stale.insert(0, "code")
        if stale:
            reason = f"version {latest.version} differs: " + "; ".join(stale)
            steps.append(Step("version", desired.name, "create", reason, publish))
            version = Ref("version")
        else:
            steps.append(Step("version", desired.name, "no-change", f"version {latest.version} is current"))
            version = latest.version

    if desired.alias is not None:
        alias = reader.get_alias(desired.name, desired.alias) if current is not None else None
        target = f"{desired.name}:{desired.alias}"
        shown = _describe_value(version) if isinstance(version, Ref) else f"version {version}"
        if alias is None:
            steps.append(
                Step(
                    "alias",
                    target,
                    "create",
                    f"-> {shown}",
                    PutAlias(desired.name, desired.alias, version, exists=False),
                )
            )
        elif alias.version != version:
            steps.append(
                Step(
                    "alias",
                    target,
                    "update",
                    f"version {alias.version} -> {shown}",
                    PutAlias(desired.name, desired.alias, version, exists=True),
                )
            )
        else:
            steps.append(Step("alias", target, "no-change", f"-> version {alias.version}"))
    return version if isinstance(version, str) else None


def _plan_prune(
    desired: DesiredFunction, versions: list[LayerVersionState], in_use: set[str], steps: list[Step]
) -> None:
    keep = desired.prune_layers or 0
    ours = [version for version in versions if version.content_sha256 is not None]
    # A version being published now counts as the newest one kept.
    newest_kept = keep - (1 if any(step.resource == "layer" and step.writes for step in steps) else 0)
    old = ours[: max(0, len(ours) - max(newest_kept, 0))]
    for version in old:
        if version.arn in in_use:
            continue
        reason = f"older than the newest {keep} (--prune-layers)"
        steps.append(
            Step(
                "layer",
                f"{desired.layer_name}:{version.version}",
                "delete",
                reason,
                DeleteLayerVersion(desired.layer_name, version.version),
            )
        )
