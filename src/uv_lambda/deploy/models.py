"""The deploy plan as inert data: what is wanted, what AWS has, and the steps between them.

Nothing here talks to AWS. The planner turns (desired function, current state) into a Plan;
the executor is the only code that turns a Plan into write calls; the renderer prints one.
A value only known once an earlier step ran (the ARN of a role being created, the version
being published) is a `Ref`, resolved by the executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from uv_lambda.limits import MAX_LAYERS as MAX_LAYERS
from uv_lambda.model import Architecture

StepKind = Literal["create", "update", "no-change", "delete"]
Resource = Literal[
    "bucket", "upload", "repository", "image", "role", "layer", "function", "code",
    "configuration", "tags", "url", "permission", "version", "alias", "repository-policy",
]  # fmt: skip
PackageType = Literal["Zip", "Image"]

# Lambda's trust policy for execution roles and the managed policy that lets a function log.
TRUST_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
    '{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)
BASIC_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
# The owner tag on everything uv-lambda creates (function, role, ECR repository), its value the
# function's name: deploy changes, and destroy deletes, only what carries it (or `--adopt`).
# Layer versions carry their ownership in their description (LAYER_DESCRIPTION_PREFIX).
OWNER_TAG = "uv-lambda:function"
ROLE_TAG = OWNER_TAG  # the name it had when only roles carried it
# Layer version descriptions start with this, followed by the hex sha256 of the layer zip.
LAYER_DESCRIPTION_PREFIX = "uv-lambda sha256:"
# The resource-policy statements that make an auth NONE Function URL public. Since October
# 2025 AWS needs both: InvokeFunctionUrl (FunctionUrlAuthType=NONE) for the URL itself, and
# InvokeFunction (InvokedViaFunctionUrl=true) for the invoke behind it; without the second
# one the URL answers 403.
URL_PERMISSION_SID = "uv-lambda-function-url"
URL_INVOKE_PERMISSION_SID = "uv-lambda-function-url-invoke"
URL_PERMISSIONS = (
    (URL_PERMISSION_SID, "lambda:InvokeFunctionUrl"),
    (URL_INVOKE_PERMISSION_SID, "lambda:InvokeFunction"),
)
# What lets Lambda pull an image from an ECR repository uv-lambda created.
ECR_LAMBDA_SID = "uv-lambda-pull"
ECR_LAMBDA_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
ECR_LAMBDA_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Sid":"uv-lambda-pull","Effect":"Allow",'
    '"Principal":{"Service":"lambda.amazonaws.com"},'
    '"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}'
)


@dataclass(frozen=True)
class Ref:
    """A value produced by an earlier step of the same plan."""

    name: Literal["role_arn", "layer_arn", "version"]


Value = str | Ref


def layer_description(sha256_hex: str) -> str:
    return LAYER_DESCRIPTION_PREFIX + sha256_hex


def role_name_for(function_name: str) -> str:
    return f"uv-lambda-{function_name}"[:64]


def layer_name_for(function_name: str) -> str:
    return f"{function_name}-dependencies"


def repository_name_for(function_name: str) -> str:
    """The ECR repository an image function gets when `image-repository` is not set."""
    # ECR names are lower case; function names may not be.
    return function_name.lower()


# ---------------------------------------------------------------------------------------------
# What the user wants (built from the config, the build and the command line).


@dataclass(frozen=True)
class ZipArtifact:
    path: Path
    sha256: str  # hex: the content key for layers and S3 objects
    code_sha256: str  # base64: what Lambda reports as CodeSha256
    size: int
    unzipped_size: int


@dataclass(frozen=True)
class ImageArtifact:
    """A built image in a local OCI layout, not yet pushed: its digest does not depend on where it goes."""

    layout: Path  # an OCI image layout folder (dist/lambda/<function>/image)
    digest: str  # sha256:<hex> of the manifest: what ImageUri pins
    architecture: Architecture  # from the image's config
    size: int  # bytes of the manifest, config and layers


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int = 0

    def to_api(self) -> dict[str, object]:
        return {
            "AllowOrigins": list(self.allow_origins),
            "AllowMethods": list(self.allow_methods),
            "AllowHeaders": list(self.allow_headers),
            "ExposeHeaders": list(self.expose_headers),
            "AllowCredentials": self.allow_credentials,
            "MaxAge": self.max_age,
        }


@dataclass(frozen=True)
class UrlSpec:
    auth_type: Literal["NONE", "AWS_IAM"]
    cors: Cors | None = None


@dataclass(frozen=True)
class DesiredFunction:
    """What a deploy wants: the view of a model.Function (and its build) the planner compares
    with AWS, made in one place (deploy/desired.py)."""

    name: str  # the function's name in AWS
    runtime: str  # "" for an image function (no Runtime setting)
    handler: str
    architecture: Architecture
    memory: int
    timeout: int
    environment: Mapping[str, str]
    ephemeral_storage: int
    description: str
    tags: Mapping[str, str]
    code: ZipArtifact | None  # the function or app zip; None for an image function
    layer: ZipArtifact | None  # the built dependency layer (format split)
    extra_layers: tuple[str, ...]  # layer ARNs from the config, after the built layer
    role: str | None  # a configured role ARN; None: uv-lambda manages one
    s3_bucket: str | None  # where zips over the inline limit go; None: a bucket per account+region
    url: UrlSpec | None
    publish: bool
    alias: str | None
    prune_layers: int | None = None  # keep only the newest N uv-lambda layer versions
    image: ImageArtifact | None = None  # format image: the image to push and deploy
    # format image: `image-repository` as configured (REGISTRY/REPO[:TAG]); None: an ECR
    # repository named after the function, created when missing.
    image_repository: str | None = None
    # --adopt: take over a function (or role) of this name that uv-lambda's owner tag does not name.
    adopt: bool = False

    @property
    def package_type(self) -> PackageType:
        return "Image" if self.image is not None else "Zip"

    @property
    def role_name(self) -> str:
        return role_name_for(self.name)

    @property
    def layer_name(self) -> str:
        return layer_name_for(self.name)


# ---------------------------------------------------------------------------------------------
# What AWS has (read by the planner with read-only calls).


@dataclass(frozen=True)
class FunctionState:
    arn: str
    package_type: str
    runtime: str
    handler: str
    architecture: str
    memory: int
    timeout: int
    environment: Mapping[str, str]
    ephemeral_storage: int
    description: str
    layers: tuple[str, ...]
    role: str
    code_sha256: str
    tags: Mapping[str, str] = field(default_factory=dict)
    version: str = "$LATEST"
    # Image functions: the deployed image as REGISTRY/REPO@sha256:... ("" when not known:
    # ListVersionsByFunction does not report it).
    image_uri: str = ""
    # Lifecycle: State (Pending, Active, Inactive, Failed, ...) and LastUpdateStatus
    # (Successful, InProgress, Failed), with AWS's reasons; "" when not reported.
    state: str = ""
    state_reason: str = ""
    last_update_status: str = ""
    last_update_reason: str = ""

    @property
    def owner(self) -> str | None:
        return self.tags.get(OWNER_TAG)

    @property
    def failed(self) -> bool:
        return self.state == "Failed"

    @property
    def update_failed(self) -> bool:
        return self.last_update_status == "Failed"


@dataclass(frozen=True)
class RoleState:
    name: str
    arn: str
    tags: Mapping[str, str]
    attached_policies: tuple[str, ...]

    @property
    def created_by_uv_lambda(self) -> bool:
        return OWNER_TAG in self.tags

    def owned_by(self, function_name: str) -> bool:
        return self.tags.get(OWNER_TAG) == function_name


@dataclass(frozen=True)
class LayerVersionState:
    arn: str
    version: int
    description: str
    architectures: tuple[str, ...]

    @property
    def content_sha256(self) -> str | None:
        if self.description.startswith(LAYER_DESCRIPTION_PREFIX):
            return self.description.removeprefix(LAYER_DESCRIPTION_PREFIX)
        return None


@dataclass(frozen=True)
class RepositoryState:
    name: str
    uri: str  # REGISTRY/NAME, as pushes and ImageUri spell it
    arn: str
    tags: Mapping[str, str]

    def created_for(self, function_name: str) -> bool:
        return self.tags.get(OWNER_TAG) == function_name


@dataclass(frozen=True)
class UrlState:
    url: str
    auth_type: str
    cors: Mapping[str, object]
    qualifier: str | None = None  # the alias the URL serves; None: the unqualified function


@dataclass(frozen=True)
class PolicyStatement:
    """One statement of a function's resource policy, as GetPolicy reports it."""

    sid: str
    action: str
    principal: str
    # Condition keys and values, flattened: {"lambda:FunctionUrlAuthType": "NONE"}.
    conditions: Mapping[str, str]


@dataclass(frozen=True)
class AliasState:
    name: str
    arn: str
    version: str


# ---------------------------------------------------------------------------------------------
# Actions: the write calls a step stands for. The executor dispatches on the type.


@dataclass(frozen=True)
class CodeSource:
    """Where Lambda gets a zip from: inline bytes of `path`, or an S3 object."""

    path: Path
    size: int
    bucket: str | None = None
    key: str | None = None

    @property
    def via_s3(self) -> bool:
        return self.bucket is not None

    def api_parameters(self) -> dict[str, object]:
        """Lambda's `Code` / `Content` parameters (reads the zip when it goes inline)."""
        if self.via_s3:
            return {"S3Bucket": self.bucket, "S3Key": self.key}
        return {"ZipFile": self.path.read_bytes()}


@dataclass(frozen=True)
class ImageSource:
    """Where Lambda gets an image from: a digest reference in a registry."""

    uri: str  # REGISTRY/REPO@sha256:...

    def api_parameters(self) -> dict[str, object]:
        return {"ImageUri": self.uri}


@dataclass(frozen=True)
class CreateRepository:
    name: str
    function_name: str  # recorded in the ROLE_TAG tag: destroy removes only what it made


@dataclass(frozen=True)
class SetRepositoryPolicy:
    """Let lambda.amazonaws.com pull from a repository uv-lambda created."""

    name: str
    policy_text: str = ECR_LAMBDA_POLICY  # the whole new document (other statements kept)


@dataclass(frozen=True)
class PushImage:
    layout: Path  # the OCI layout holding the image
    target: str  # REGISTRY/REPO:TAG
    digest: str
    size: int
    # An ECR repository (found or created through the ECR API): log in with an ECR token
    # from the deploy's own AWS session, even where the host does not look like ECR's.
    ecr: bool = False


@dataclass(frozen=True)
class CreateBucket:
    bucket: str
    region: str


@dataclass(frozen=True)
class PutObject:
    bucket: str
    key: str
    path: Path
    size: int


@dataclass(frozen=True)
class CreateRole:
    role_name: str
    function_name: str
    policy_arns: tuple[str, ...]


@dataclass(frozen=True)
class AttachPolicies:
    role_name: str
    policy_arns: tuple[str, ...]


@dataclass(frozen=True)
class TagRole:
    """--adopt of an existing role: mark it as this function's."""

    role_name: str
    function_name: str


@dataclass(frozen=True)
class PublishLayer:
    layer_name: str
    source: CodeSource
    sha256: str
    runtime: str
    architecture: str


@dataclass(frozen=True)
class CreateFunction:
    function: DesiredFunction
    role: Value
    layers: tuple[Value, ...]
    source: CodeSource | ImageSource


@dataclass(frozen=True)
class UpdateCode:
    function_name: str
    source: CodeSource | ImageSource
    architecture: str


@dataclass(frozen=True)
class UpdateConfiguration:
    function_name: str
    # Only the fields that differ, in the API's spelling (MemorySize, Layers, ...).
    fields: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class TagFunction:
    function_arn: str
    add: tuple[tuple[str, str], ...]
    remove: tuple[str, ...]


@dataclass(frozen=True)
class PutFunctionUrl:
    function_name: str
    url: UrlSpec
    exists: bool  # update the existing config rather than create one
    qualifier: str | None = None  # the alias it serves


@dataclass(frozen=True)
class SetUrlPermission:
    function_name: str
    public: bool  # add the statement (auth NONE) or remove it
    statement_id: str = URL_PERMISSION_SID
    qualifier: str | None = None


@dataclass(frozen=True)
class PublishVersion:
    function_name: str


@dataclass(frozen=True)
class PutAlias:
    function_name: str
    alias: str
    version: Value
    exists: bool


@dataclass(frozen=True)
class DeleteFunction:
    function_name: str


@dataclass(frozen=True)
class DeleteFunctionUrl:
    function_name: str
    qualifier: str | None = None


@dataclass(frozen=True)
class DeleteAlias:
    function_name: str
    alias: str


@dataclass(frozen=True)
class DeleteLayerVersion:
    layer_name: str
    version: int


@dataclass(frozen=True)
class DeleteRole:
    role_name: str
    policy_arns: tuple[str, ...]  # detached first
    inline_policies: tuple[str, ...] = ()  # deleted first


@dataclass(frozen=True)
class DeleteRepository:
    name: str  # with the images in it


Action = (
    CreateBucket | PutObject | CreateRepository | SetRepositoryPolicy | PushImage | CreateRole
    | AttachPolicies | TagRole | PublishLayer | CreateFunction | UpdateCode | UpdateConfiguration | TagFunction
    | PutFunctionUrl | SetUrlPermission | PublishVersion | PutAlias | DeleteFunction
    | DeleteFunctionUrl | DeleteAlias | DeleteLayerVersion | DeleteRole | DeleteRepository
)  # fmt: skip


@dataclass(frozen=True)
class Step:
    resource: Resource
    target: str  # the thing's name as a user knows it
    kind: StepKind
    reason: str
    action: Action | None = None  # None for no-change

    @property
    def writes(self) -> bool:
        return self.action is not None

    def to_json(self) -> dict[str, str]:
        return {
            "resource": self.resource,
            "target": self.target,
            "kind": self.kind,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Plan:
    operation: Literal["deploy", "destroy"]
    function: str
    region: str
    steps: tuple[Step, ...]
    # Known before executing: filled from the current state (the executor adds new values).
    function_arn: str | None = None
    url: str | None = None
    version: str | None = None
    # Said above the table: what the plan adopts, recreates or deletes, and why.
    warnings: tuple[str, ...] = ()

    @property
    def changes(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.writes)

    @property
    def is_noop(self) -> bool:
        return not self.changes

    def to_json(self) -> dict[str, object]:
        return {
            "operation": self.operation,
            "function": self.function,
            "region": self.region,
            "warnings": list(self.warnings),
            "steps": [step.to_json() for step in self.steps],
        }


@dataclass(frozen=True)
class AppliedPlan:
    """What an executed plan left behind: the summary a user or a script reads."""

    function: str
    function_arn: str | None
    version: str | None
    alias: str | None
    url: str | None
    changed: tuple[Step, ...]  # the steps that wrote
    bytes_uploaded: int
    # What happened that the plan did not say (a concurrent deploy created the function first).
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "function": self.function,
            "function_arn": self.function_arn,
            "version": self.version,
            "alias": self.alias,
            "url": self.url,
            "changed": [step.to_json() for step in self.changed],
            "bytes_uploaded": self.bytes_uploaded,
            "notes": list(self.notes),
        }
