"""A typed facade over the boto3 clients deploy needs: reads return models, errors become one line.

Every AWS call goes through `AwsClient._call`, which retries throttling (429), Lambda's
ResourceConflictException (409, an update still in progress) and 5xx answers with backoff,
retries connection resets and timeouts of calls that are safe to repeat, and turns botocore
exceptions into DeployError with a hint. botocore's own retries are off so that there is
exactly one retry policy, and it is this one. Waits poll through `_call` too, so a throttled
poll is retried like any other read.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConfigParseError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)

from uv_lambda import limits
from uv_lambda.deploy.endpoint import check_endpoint_url, check_region
from uv_lambda.deploy.errors import AwsError, DeployError
from uv_lambda.deploy.models import (
    ECR_LAMBDA_POLICY,
    OWNER_TAG,
    TRUST_POLICY,
    AliasState,
    CodeSource,
    FunctionState,
    ImageSource,
    LayerVersionState,
    PolicyStatement,
    RepositoryState,
    RoleState,
    UrlSpec,
    UrlState,
)
from uv_lambda.errors import UsageError
from uv_lambda.model import Architecture

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient

log = logging.getLogger(__name__)

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
BAD_CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
    }
)
NOT_FOUND_CODES = frozenset(
    {"ResourceNotFoundException", "NoSuchEntity", "404", "NoSuchKey", "NoSuchBucket", "RepositoryNotFoundException"}
)
# The IAM action behind an API operation, where the two are spelled differently.
IAM_ACTIONS = {
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("lambda", "Invoke"): "lambda:InvokeFunction",
}
# Lambda's control plane answers in well under a second; CreateFunction and
# UpdateFunctionCode with a 50 MB zip are sent under the read timeout too (it bounds each
# socket operation, not the whole upload), so a slow but moving upload still completes.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
# A connection reset or a timeout: a silent endpoint fails after this many attempts.
NETWORK_ERRORS = (ConnectionClosedError, ReadTimeoutError, EndpointConnectionError, ConnectTimeoutError)
# Permissions an API call needs besides its own action: docs/deploy.md's policy lists them
# (tests/deploy/test_iam_policy.py checks it against the calls made here).
IMPLIED_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    # Without lambda:ListTags, GetFunction answers without Tags: tags would be re-applied on every deploy.
    ("lambda", "GetFunction"): ("lambda:ListTags",),
    ("lambda", "CreateFunction"): ("iam:PassRole", "lambda:GetLayerVersion", "lambda:TagResource"),
    ("lambda", "UpdateFunctionConfiguration"): ("iam:PassRole", "lambda:GetLayerVersion"),
    ("iam", "CreateRole"): ("iam:TagRole",),
    ("ecr", "CreateRepository"): ("ecr:TagResource",),
}
# Calls that need no permission.
UNAUTHORISED_CALLS = frozenset({("sts", "GetCallerIdentity")})
CREDENTIALS_HINT = (
    "configure credentials the usual way: AWS_PROFILE / --profile, `aws configure`, "
    "`aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    base_delay: float = 0.25  # seconds before the first retry; doubles each time
    max_delay: float = 10.0
    # create_function right after create_role: IAM takes seconds to propagate to Lambda.
    role_propagation_attempts: int = 12
    # Connection resets and timeouts: each costs up to READ_TIMEOUT, so few attempts.
    network_attempts: int = 3
    # Waiting for a function to become Active / finish an update.
    wait_delay: float = 1.0
    wait_timeout: float = 900.0

    def delay(self, attempt: int) -> float:
        ceiling: float = min(self.max_delay, self.base_delay * 2**attempt)
        # Jitter, so that parallel deploys hitting the same throttle spread out.
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class CallRules:
    """How one call's retries differ from the RetryPolicy's."""

    # Further errors (code, message) worth retrying for this call, up to `attempts` in all.
    extra_retry: Callable[[str, str], bool] | None = None
    attempts: int | None = None
    # False: a lost answer is not retried (the call may have had its effect), unless rechecked.
    idempotent: bool = True
    # Error codes not retried for this call although they usually are.
    final_codes: frozenset[str] = frozenset()


def _error_parts(exc: ClientError) -> tuple[str, int, str]:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return str(error.get("Code", "")), int(status), str(error.get("Message", ""))


def is_retryable(code: str, status: int) -> bool:
    return status == 429 or status >= 500 or code in THROTTLING_CODES or code == "ResourceConflictException"


def is_role_propagation(code: str, message: str) -> bool:
    """Lambda's answer when a just-created role is not yet visible to it."""
    return code == "InvalidParameterValueException" and "cannot be assumed" in message


def translate_client_error(exc: ClientError, service: str) -> AwsError:
    code, status, message = _error_parts(exc)
    operation = exc.operation_name
    action = IAM_ACTIONS.get((service, operation), f"{service}:{operation}")
    if code in DENIED_CODES or (status == 403 and code not in BAD_CREDENTIAL_CODES):
        return AwsError(
            f"access denied: {action} ({message or code})",
            f"allow {action} for these credentials (docs/deploy.md lists the whole policy)",
            code=code,
            operation=operation,
            status=status,
        )
    if code in BAD_CREDENTIAL_CODES:
        return AwsError(
            f"AWS rejected the credentials ({code}) on {action}",
            "the keys are wrong or expired: " + CREDENTIALS_HINT,
            code=code,
            operation=operation,
            status=status,
        )
    first_line = (message or code).strip().splitlines()[0] if (message or code).strip() else code
    return AwsError(
        f"{action} failed: {code}: {first_line}",
        "run with -v for the full response" if status >= 500 else None,
        code=code,
        operation=operation,
        status=status,
    )


def translate_botocore_error(exc: BotoCoreError, endpoint_url: str | None) -> DeployError:
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return DeployError("no usable AWS credentials found", CREDENTIALS_HINT)
    if isinstance(exc, SSOError | TokenRetrievalError):
        return DeployError(f"AWS SSO login needed: {exc}", "run `aws sso login` (with --profile if you use one)")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        where = endpoint_url or "AWS"
        return DeployError(f"cannot reach {where}: {exc}", "check the network, --region and --endpoint-url")
    if isinstance(exc, ReadTimeoutError):
        where = endpoint_url or "AWS"
        return DeployError(
            f"{where} did not answer within {READ_TIMEOUT:g} s: {exc}",
            "the endpoint accepts connections but does not answer: check --endpoint-url and the network",
        )
    if isinstance(exc, ConnectionClosedError):
        where = endpoint_url or "AWS"
        return DeployError(f"{where} closed the connection: {exc}", "check the network and --endpoint-url; run again")
    return DeployError(f"AWS call failed: {exc}", "run with -v for details")


def _unreadable_config(exc: ConfigParseError) -> UsageError:
    path = exc.kwargs.get("path", "an AWS config file")
    return UsageError(
        f"cannot read {path}: it is not a valid AWS config or credentials file",
        "fix or remove it (AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE say which files are read)",
    )


@dataclass(frozen=True)
class Connection:
    region: str
    profile: str | None
    endpoint_url: str | None


def connect(
    *,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    retry: RetryPolicy | None = None,
) -> AwsClient:
    """Create the clients through boto3's normal chain (env, profile, SSO, instance role)."""
    import boto3
    from botocore.config import Config

    check_endpoint_url(endpoint_url)
    check_region(region)
    if profile is not None and not profile.strip():
        raise UsageError("--profile is empty", "pass a profile name (is the variable it comes from unset?)")
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        region_name = session.region_name
    except ProfileNotFound as exc:  # --profile, or AWS_PROFILE when --profile is not given
        raise UsageError(
            f"AWS profile {exc.kwargs.get('profile', profile)!r} not found",
            "list profiles with `aws configure list-profiles`",
        ) from None
    except ConfigParseError as exc:
        raise _unreadable_config(exc) from None
    if not region_name:
        raise UsageError(
            "no AWS region set",
            "pass --region, set AWS_REGION, or set a region in your AWS profile",
        )
    check_region(region_name, "the AWS region from the environment or profile")
    # Retries are ours (see RetryPolicy); botocore would otherwise retry the same errors again.
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT)
    s3_config = config.merge(Config(s3={"addressing_style": "path"})) if endpoint_url else config

    def make_client(service: str) -> Any:
        try:
            return session.client(  # type: ignore[call-overload]
                service, endpoint_url=endpoint_url, config=s3_config if service == "s3" else config
            )
        except NoRegionError:
            raise UsageError("no AWS region set", "pass --region or set AWS_REGION") from None
        except ConfigParseError as exc:
            raise _unreadable_config(exc) from None
        except ValueError as exc:  # botocore's own URL check, for what check_endpoint_url lets by
            raise UsageError(f"--endpoint-url {endpoint_url!r}: {exc}", "give a full http(s) URL") from None
        except BotoCoreError as exc:
            raise translate_botocore_error(exc, endpoint_url) from exc

    connection = Connection(region_name, profile, endpoint_url)
    return AwsClient(make_client, connection, retry or RetryPolicy())


class AwsClient:
    """Reads return models (None: it does not exist); writes return what later steps need."""

    def __init__(
        self,
        make_client: Callable[[str], Any],
        connection: Connection,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._make_client = make_client
        self.connection = connection
        self.retry = retry
        self._sleep = sleep
        self._account: str | None = None

    @property
    def region(self) -> str:
        return self.connection.region

    # Clients are made on first use: each costs tens of milliseconds of model loading, and a
    # deploy with nothing to change needs only Lambda and IAM.
    @cached_property
    def _lambda(self) -> LambdaClient:
        return cast("LambdaClient", self._make_client("lambda"))

    @cached_property
    def _iam(self) -> IAMClient:
        return cast("IAMClient", self._make_client("iam"))

    @cached_property
    def _s3(self) -> S3Client:
        return cast("S3Client", self._make_client("s3"))

    @cached_property
    def _sts(self) -> STSClient:
        return cast("STSClient", self._make_client("sts"))

    @cached_property
    def _ecr(self) -> ECRClient:
        return cast("ECRClient", self._make_client("ecr"))

    # -- the one call path ------------------------------------------------------------------

    def _call(
        self,
        service: str,
        fn: Callable[[], T],
        *,
        recheck: Callable[[], T | None] | None = None,
        rules: CallRules = CallRules(),
    ) -> T:
        """Call `fn`, retrying what can succeed later (`rules` says how this call differs).

        `recheck` runs before each retry of a call that is not idempotent: a 5xx can come
        after AWS did the work, and the retry must not do it twice (a duplicate layer version).
        A call that is neither idempotent nor rechecked (an invoke) is retried after a network
        error only when the request cannot have been sent (no connection).
        """
        extra_retry, idempotent, final_codes = rules.extra_retry, rules.idempotent, rules.final_codes
        limit = rules.attempts or self.retry.attempts
        attempt = 0
        network_failures = 0
        while True:
            try:
                if attempt and recheck is not None:
                    done = recheck()
                    if done is not None:
                        return done
                return fn()
            except ClientError as exc:
                code, status, message = _error_parts(exc)
                # Transient errors get the policy's attempts; `extra_retry` ones up to `attempts`.
                retryable = is_retryable(code, status) and code not in final_codes
                transient = retryable and attempt + 1 < self.retry.attempts
                extra = extra_retry is not None and extra_retry(code, message) and attempt + 1 < limit
                if not (transient or extra):
                    raise translate_client_error(exc, service) from exc
                delay = self.retry.delay(attempt)
                log.debug(
                    "%s %s: %s (%s); retry in %.2f s",
                    service,
                    exc.operation_name,
                    code,
                    status,
                    delay,
                )
                self._sleep(delay)
            except NETWORK_ERRORS as exc:
                # Not sent at all (no connection), or sent and the answer lost (reset, timeout).
                unsent = isinstance(exc, EndpointConnectionError | ConnectTimeoutError)
                network_failures += 1
                safe = unsent or idempotent or recheck is not None
                if not safe or network_failures >= self.retry.network_attempts:
                    raise translate_botocore_error(exc, self.connection.endpoint_url) from exc
                delay = self.retry.delay(attempt)
                log.debug("%s: %s; retry in %.2f s", service, exc, delay)
                self._sleep(delay)
            except BotoCoreError as exc:
                raise translate_botocore_error(exc, self.connection.endpoint_url) from exc
            attempt += 1

    def _maybe(self, service: str, fn: Callable[[], T]) -> T | None:
        """Like _call, but a not-found answer is None."""
        try:
            return self._call(service, fn)
        except AwsError as exc:
            if exc.code in NOT_FOUND_CODES or exc.status == 404:
                return None
            raise

    # -- reads ------------------------------------------------------------------------------

    def account_id(self) -> str:
        if self._account is None:
            self._account = self._call("sts", lambda: self._sts.get_caller_identity())["Account"]
        return self._account

    def get_function(self, name: str) -> FunctionState | None:
        response = self._maybe("lambda", lambda: self._lambda.get_function(FunctionName=name))
        if response is None:
            return None
        return function_state(dict(response["Configuration"]), response.get("Tags", {}), dict(response.get("Code", {})))

    def get_repository(self, name: str) -> RepositoryState | None:
        response = self._maybe("ecr", lambda: self._ecr.describe_repositories(repositoryNames=[name]))
        if response is None or not response["repositories"]:
            return None
        repository = response["repositories"][0]
        arn = repository["repositoryArn"]
        listed = self._call("ecr", lambda: self._ecr.list_tags_for_resource(resourceArn=arn))
        tags = {tag["Key"]: tag["Value"] for tag in listed.get("tags", [])}
        return RepositoryState(repository["repositoryName"], repository["repositoryUri"], arn, tags)

    def get_role(self, name: str) -> RoleState | None:
        response = self._maybe("iam", lambda: self._iam.get_role(RoleName=name))
        if response is None:
            return None
        role = response["Role"]
        tags = {tag["Key"]: tag["Value"] for tag in role.get("Tags", [])}
        paginator = self._iam.get_paginator("list_attached_role_policies")
        policies: list[str] = []
        for page in self._call("iam", lambda: list(paginator.paginate(RoleName=name))):
            policies.extend(policy.get("PolicyArn", "") for policy in page["AttachedPolicies"])
        return RoleState(role["RoleName"], role["Arn"], tags, tuple(policies))

    def list_layer_versions(self, layer_name: str) -> list[LayerVersionState]:
        paginator = self._lambda.get_paginator("list_layer_versions")
        pages = self._maybe("lambda", lambda: list(paginator.paginate(LayerName=layer_name)))
        versions = []
        for page in pages or []:
            for item in page["LayerVersions"]:
                versions.append(
                    LayerVersionState(
                        arn=item["LayerVersionArn"],
                        version=int(item["Version"]),
                        description=item.get("Description", ""),
                        architectures=tuple(item.get("CompatibleArchitectures", [])),
                    )
                )
        return sorted(versions, key=lambda v: v.version)

    def get_function_url(self, name: str, qualifier: str | None = None) -> UrlState | None:
        params = _qualified(name, qualifier)
        response = self._maybe("lambda", lambda: self._lambda.get_function_url_config(**params))
        if response is None:
            return None
        return UrlState(response["FunctionUrl"], response["AuthType"], dict(response.get("Cors", {})), qualifier)

    def policy_statements(self, name: str, qualifier: str | None = None) -> list[PolicyStatement]:
        import json

        params = _qualified(name, qualifier)
        response = self._maybe("lambda", lambda: self._lambda.get_policy(**params))
        if response is None:
            return []
        return [policy_statement(item) for item in json.loads(response["Policy"]).get("Statement", [])]

    def policy_statement_ids(self, name: str, qualifier: str | None = None) -> set[str]:
        return {statement.sid for statement in self.policy_statements(name, qualifier)}

    def get_repository_policy(self, name: str) -> str | None:
        """The repository's policy document (JSON), None when it has none."""
        code = "RepositoryPolicyNotFoundException"
        try:
            response = self._call("ecr", lambda: self._ecr.get_repository_policy(repositoryName=name))
        except AwsError as exc:
            if exc.code == code:
                return None
            raise
        return response.get("policyText")

    def list_inline_policies(self, role_name: str) -> tuple[str, ...]:
        paginator = self._iam.get_paginator("list_role_policies")
        pages = self._maybe("iam", lambda: list(paginator.paginate(RoleName=role_name)))
        return tuple(name for page in pages or [] for name in page["PolicyNames"])

    def functions_using_role(self, role_arn: str) -> list[str]:
        """Names of the functions in this region whose execution role is `role_arn`."""
        paginator = self._lambda.get_paginator("list_functions")
        pages = self._call("lambda", lambda: list(paginator.paginate()))
        return [item["FunctionName"] for page in pages for item in page["Functions"] if item.get("Role") == role_arn]

    def list_versions(self, name: str) -> list[FunctionState]:
        """Published versions (not $LATEST), oldest first."""
        paginator = self._lambda.get_paginator("list_versions_by_function")
        pages = self._maybe("lambda", lambda: list(paginator.paginate(FunctionName=name)))
        versions = [
            function_state(dict(item), {})
            for page in pages or []
            for item in page["Versions"]
            if item.get("Version") != "$LATEST"
        ]
        return sorted(versions, key=lambda v: int(v.version))

    def get_alias(self, name: str, alias: str) -> AliasState | None:
        response = self._maybe("lambda", lambda: self._lambda.get_alias(FunctionName=name, Name=alias))
        if response is None:
            return None
        return AliasState(response["Name"], response["AliasArn"], response["FunctionVersion"])

    def list_aliases(self, name: str) -> list[AliasState]:
        paginator = self._lambda.get_paginator("list_aliases")
        pages = self._maybe("lambda", lambda: list(paginator.paginate(FunctionName=name)))
        return [
            AliasState(item["Name"], item["AliasArn"], item["FunctionVersion"])
            for page in pages or []
            for item in page["Aliases"]
        ]

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self._call("s3", lambda: self._s3.head_bucket(Bucket=bucket))
        except AwsError as exc:
            if exc.status == 404 or exc.code in NOT_FOUND_CODES:
                return False
            if exc.status == 403:
                raise DeployError(
                    f"S3 bucket {bucket} exists but these credentials cannot use it",
                    "set s3-bucket in [tool.uv-lambda] to a bucket you own",
                ) from exc
            raise
        return True

    def object_exists(self, bucket: str, key: str) -> bool:
        return self._maybe("s3", lambda: self._s3.head_object(Bucket=bucket, Key=key)) is not None

    # -- writes -----------------------------------------------------------------------------

    def create_bucket(self, bucket: str) -> None:
        params: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":  # us-east-1 refuses its own name as a LocationConstraint
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._call("s3", lambda: self._s3.create_bucket(**params))
        except AwsError as exc:
            if exc.code != "BucketAlreadyOwnedByYou":  # an earlier, interrupted run made it
                raise

    def put_object(self, bucket: str, key: str, source: CodeSource) -> None:
        def put() -> object:
            with source.path.open("rb") as body:
                return self._s3.put_object(Bucket=bucket, Key=key, Body=body)

        self._call("s3", put)

    def create_role(self, role_name: str, function_name: str) -> str:
        try:
            response = self._call(
                "iam",
                lambda: self._iam.create_role(
                    RoleName=role_name,
                    AssumeRolePolicyDocument=TRUST_POLICY,
                    Description=f"Execution role of the Lambda function {function_name}",
                    Tags=[{"Key": OWNER_TAG, "Value": function_name}],
                ),
            )
            return response["Role"]["Arn"]
        except AwsError as exc:
            if exc.code != "EntityAlreadyExists":  # a retried call that had succeeded
                raise
            return self._call("iam", lambda: self._iam.get_role(RoleName=role_name))["Role"]["Arn"]

    def create_repository(self, name: str, function_name: str) -> str:
        """Create an ECR repository tagged as uv-lambda's; return its URI (REGISTRY/NAME)."""
        try:
            response = self._call(
                "ecr",
                lambda: self._ecr.create_repository(
                    repositoryName=name, tags=[{"Key": OWNER_TAG, "Value": function_name}]
                ),
            )
            return response["repository"]["repositoryUri"]
        except AwsError as exc:
            if exc.code != "RepositoryAlreadyExistsException":  # a retried call that had succeeded
                raise
        state = self.get_repository(name)
        assert state is not None, name
        return state.uri

    def set_repository_policy(self, name: str, policy_text: str = ECR_LAMBDA_POLICY) -> None:
        """Let Lambda pull the repository's images (BatchGetImage, GetDownloadUrlForLayer):
        `policy_text` is the whole document (the planner keeps the statements already there)."""
        self._call("ecr", lambda: self._ecr.set_repository_policy(repositoryName=name, policyText=policy_text))

    def tag_role(self, role_name: str, function_name: str) -> None:
        self._call(
            "iam", lambda: self._iam.tag_role(RoleName=role_name, Tags=[{"Key": OWNER_TAG, "Value": function_name}])
        )

    def registry_login(self, registry: str) -> tuple[str, str]:
        """ECR's docker login: (user, password) from GetAuthorizationToken, valid 12 hours."""
        import base64

        account = registry.split(".", 1)[0]
        params: dict[str, Any] = {"registryIds": [account]} if account.isdigit() else {}
        response = self._call("ecr", lambda: self._ecr.get_authorization_token(**params))
        token = response["authorizationData"][0]["authorizationToken"]
        username, _, password = base64.b64decode(token).decode().partition(":")
        return username, password

    def delete_repository(self, name: str) -> None:
        # force: the images go with it (they were pushed for this function only).
        self._maybe("ecr", lambda: self._ecr.delete_repository(repositoryName=name, force=True))

    def attach_policy(self, role_name: str, policy_arn: str) -> None:
        self._call("iam", lambda: self._iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn))

    def publish_layer(
        self, layer_name: str, source: CodeSource, description: str, runtime: str, architecture: str
    ) -> str:
        def existing() -> str | None:
            for version in reversed(self.list_layer_versions(layer_name)):
                if version.description == description and architecture in version.architectures:
                    return version.arn
            return None

        return self._call(
            "lambda",
            lambda: self._lambda.publish_layer_version(
                LayerName=layer_name,
                Description=description,
                Content=source.api_parameters(),  # type: ignore[arg-type]
                CompatibleRuntimes=[runtime],  # type: ignore[list-item]
                CompatibleArchitectures=[architecture],  # type: ignore[list-item]
            )["LayerVersionArn"],
            recheck=existing,
        )

    def create_function(self, params: Mapping[str, Any]) -> tuple[FunctionState, bool]:
        """(the function, whether this call created it).

        A 409 (ResourceConflictException) here means the function exists: another deploy
        created it between the plan and now. That is not success: the caller gets the state
        read back (created False) and converges it. A retry after a 5xx or a lost answer first
        reads the function back: the first attempt may have created it.
        """
        name = params["FunctionName"]
        try:
            state = self._call(
                "lambda",
                lambda: function_state(dict(self._lambda.create_function(**params)), params.get("Tags", {})),
                recheck=lambda: self.get_function(name),
                rules=CallRules(
                    extra_retry=is_role_propagation,
                    attempts=self.retry.role_propagation_attempts,
                    final_codes=frozenset({"ResourceConflictException"}),
                ),
            )
        except AwsError as exc:
            if exc.code != "ResourceConflictException":
                raise
            existing = self.get_function(name)
            if existing is None:
                raise
            self.wait_active(name)
            return existing, False
        self.wait_active(name)
        return state, True

    def update_code(self, name: str, source: CodeSource | ImageSource, architecture: str) -> FunctionState:
        params: dict[str, Any] = {"FunctionName": name, "Architectures": [architecture]}
        params.update(source.api_parameters())
        response = self._call("lambda", lambda: self._lambda.update_function_code(**params))
        self.wait_updated(name)
        return function_state(dict(response), {})

    def update_configuration(self, name: str, fields: Mapping[str, object]) -> None:
        self._call(
            "lambda",
            lambda: self._lambda.update_function_configuration(FunctionName=name, **fields),  # type: ignore[arg-type]
            # a role changed to a just-created one
            rules=CallRules(extra_retry=is_role_propagation, attempts=self.retry.role_propagation_attempts),
        )
        self.wait_updated(name)

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        self._call("lambda", lambda: self._lambda.tag_resource(Resource=arn, Tags=dict(tags)))

    def untag(self, arn: str, keys: list[str]) -> None:
        self._call("lambda", lambda: self._lambda.untag_resource(Resource=arn, TagKeys=keys))

    def put_function_url(self, name: str, url: UrlSpec, *, exists: bool, qualifier: str | None = None) -> str:
        params: dict[str, Any] = {**_qualified(name, qualifier), "AuthType": url.auth_type}
        params["Cors"] = url.cors.to_api() if url.cors else {}
        if exists:
            updated = self._call("lambda", lambda: self._lambda.update_function_url_config(**params))
            return updated["FunctionUrl"]

        def existing() -> str | None:  # a retried create whose first attempt went through
            state = self.get_function_url(name, qualifier)
            return state.url if state else None

        return self._call(
            "lambda", lambda: self._lambda.create_function_url_config(**params)["FunctionUrl"], recheck=existing
        )

    def add_url_permission(self, name: str, statement_id: str, qualifier: str | None = None) -> None:
        """One of the two statements a public (auth NONE) Function URL needs (URL_PERMISSIONS)."""
        from uv_lambda.deploy.models import URL_INVOKE_PERMISSION_SID

        params: dict[str, Any] = {**_qualified(name, qualifier), "StatementId": statement_id, "Principal": "*"}
        if statement_id == URL_INVOKE_PERMISSION_SID:
            params.update(Action="lambda:InvokeFunction", InvokedViaFunctionUrl=True)
        else:
            params.update(Action="lambda:InvokeFunctionUrl", FunctionUrlAuthType="NONE")
        # A 409 here is either "update in progress" or "statement exists" (a retry whose
        # first attempt went through): the recheck tells them apart before each retry.
        self._call(
            "lambda",
            lambda: self._lambda.add_permission(**params),
            recheck=lambda: {} if statement_id in self.policy_statement_ids(name, qualifier) else None,
        )

    def remove_permission(self, name: str, statement_id: str, qualifier: str | None = None) -> None:
        params = _qualified(name, qualifier)
        self._maybe(
            "lambda",
            lambda: self._lambda.remove_permission(**params, StatementId=statement_id),
        )

    def publish_version(self, name: str) -> str:
        """Publish and wait until the version is Active: an alias must not move to a Pending one."""
        version: str = self._call("lambda", lambda: self._lambda.publish_version(FunctionName=name))["Version"]
        self.wait_version_active(name, version)
        return version

    def put_alias(self, name: str, alias: str, version: str, *, exists: bool) -> str:
        if exists:
            response = self._call(
                "lambda",
                lambda: self._lambda.update_alias(FunctionName=name, Name=alias, FunctionVersion=version),
            )
            return response["AliasArn"]

        def existing() -> str | None:
            # A retried create whose first attempt went through, or (a 409) an alias another
            # deploy created meanwhile: point it at this deploy's version.
            state = self.get_alias(name, alias)
            if state is None:
                return None
            return state.arn if state.version == version else self.put_alias(name, alias, version, exists=True)

        return self._call(
            "lambda",
            lambda: self._lambda.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)["AliasArn"],
            recheck=existing,
        )

    def delete_function(self, name: str) -> None:
        self._maybe("lambda", lambda: self._lambda.delete_function(FunctionName=name))

    def delete_function_url(self, name: str, qualifier: str | None = None) -> None:
        params = _qualified(name, qualifier)
        self._maybe("lambda", lambda: self._lambda.delete_function_url_config(**params))

    def delete_alias(self, name: str, alias: str) -> None:
        self._maybe("lambda", lambda: self._lambda.delete_alias(FunctionName=name, Name=alias))

    def delete_layer_version(self, layer_name: str, version: int) -> None:
        self._maybe(
            "lambda",
            lambda: self._lambda.delete_layer_version(LayerName=layer_name, VersionNumber=version),
        )

    def delete_role(self, role_name: str, policy_arns: tuple[str, ...], inline_policies: tuple[str, ...] = ()) -> None:
        """IAM refuses to delete a role with policies: inline ones are deleted, managed ones detached first."""
        for policy_name in inline_policies:
            self._delete_inline(role_name, policy_name)
        for policy_arn in policy_arns:
            self._detach(role_name, policy_arn)
        self._maybe("iam", lambda: self._iam.delete_role(RoleName=role_name))

    def _delete_inline(self, role_name: str, policy_name: str) -> None:
        self._maybe("iam", lambda: self._iam.delete_role_policy(RoleName=role_name, PolicyName=policy_name))

    def _detach(self, role_name: str, policy_arn: str) -> None:
        self._maybe("iam", lambda: self._iam.detach_role_policy(RoleName=role_name, PolicyArn=policy_arn))

    # -- waiting and invoking ---------------------------------------------------------------

    def _wait(self, name: str, what: str, *, qualifier: str | None = None, failed_update_is_error: bool = True) -> None:
        """Poll GetFunctionConfiguration until `what` holds (the waiters' acceptors, by hand).

        botocore's waiters stop at the first throttled poll; here every poll is a `_call`
        (throttling retried), and a Failed state stops the wait with AWS's reason.
        `failed_update_is_error` False: a LastUpdateStatus Failed left by an earlier deploy
        counts as settled (this deploy is about to send that update again).
        """
        params = _qualified(name, qualifier)
        shown = f"{name}:{qualifier}" if qualifier else name
        deadline = time.monotonic() + self.retry.wait_timeout
        while True:
            configuration = self._call("lambda", lambda: self._lambda.get_function_configuration(**params))
            state = str(configuration.get("State") or "")
            update = str(configuration.get("LastUpdateStatus") or "")
            if state == "Failed":
                reason = configuration.get("StateReason") or "no reason given"
                code = configuration.get("StateReasonCode")
                raise DeployError(
                    f"function {shown} is in State Failed: {reason}" + (f" ({code})" if code else ""),
                    failed_state_hint(str(code or "")),
                )
            if update == "Failed" and what != "Active" and failed_update_is_error:
                reason = configuration.get("LastUpdateStatusReason") or "no reason given"
                code = configuration.get("LastUpdateStatusReasonCode")
                raise DeployError(
                    f"the update of {shown} failed: {reason}" + (f" ({code})" if code else ""),
                    "fix the cause, then run deploy again: it sends the update again",
                )
            # "" : an endpoint that does not report states (an older emulator): nothing to wait for.
            done = state in ("Active", "") if what == "Active" else state != "Pending" and update != "InProgress"
            if done:
                return
            if time.monotonic() >= deadline:
                raise DeployError(
                    f"function {shown} did not become {what} within {self.retry.wait_timeout:g} s "
                    f"(State {state or '?'}, LastUpdateStatus {update or '?'})",
                    "look at the function in the Lambda console; run deploy again once it has settled",
                )
            self._sleep(self.retry.wait_delay)

    def wait_active(self, name: str) -> None:
        self._wait(name, "Active")

    def wait_updated(self, name: str) -> None:
        self._wait(name, "updated (LastUpdateStatus Successful)")

    def wait_settled(self, name: str) -> None:
        """Before the first change to an existing function: wait out an update still running
        (an interrupted deploy's). A failed earlier update is not an error here: the plan
        sends it again, and the wait after that update judges the outcome."""
        self._wait(name, "settled (no update in progress)", failed_update_is_error=False)

    def wait_version_active(self, name: str, version: str) -> None:
        self._wait(name, "Active", qualifier=version)

    def invoke(self, name: str, payload: bytes, qualifier: str | None) -> tuple[bytes, str, str | None]:
        import base64

        params: dict[str, Any] = {"FunctionName": name, "Payload": payload, "LogType": "Tail"}
        if qualifier:
            params["Qualifier"] = qualifier
        # Not idempotent: a lost answer is not retried (the function may have run).
        response = self._call("lambda", lambda: self._lambda.invoke(**params), rules=CallRules(idempotent=False))
        body = response["Payload"].read()
        tail = base64.b64decode(response.get("LogResult", "") or "").decode("utf-8", "replace")
        return body, tail, response.get("FunctionError")


def _qualified(name: str, qualifier: str | None) -> dict[str, Any]:
    return {"FunctionName": name, "Qualifier": qualifier} if qualifier else {"FunctionName": name}


def failed_state_hint(code: str) -> str:
    """What fixes a function in State Failed, by StateReasonCode."""
    if code.startswith("Image"):
        return (
            "Lambda cannot pull the image: the repository policy must allow lambda.amazonaws.com "
            "ecr:BatchGetImage and ecr:GetDownloadUrlForLayer; then run deploy again (it recreates the function)"
        )
    if code in ("InvalidRole", "InvalidConfiguration", "KMSKeyNotFound", "KMSKeyAccessDenied"):
        return "fix the role or key named above, then run deploy again (it recreates the function)"
    return "run deploy again: a function in State Failed is deleted and created again (after the confirmation)"


def policy_statement(item: Mapping[str, Any]) -> PolicyStatement:
    """A resource-policy statement from GetPolicy, conditions flattened to key -> value."""
    principal = item.get("Principal", "")
    if isinstance(principal, Mapping):  # {"AWS": "*"} / {"Service": "..."}
        principal = next(iter(principal.values()), "")
    action = item.get("Action", "")
    if isinstance(action, list):
        action = action[0] if len(action) == 1 else ",".join(action)
    conditions: dict[str, str] = {}
    for operator in (item.get("Condition") or {}).values():
        if isinstance(operator, Mapping):
            conditions.update({str(key): str(value) for key, value in operator.items()})
    # Moto keeps AddPermission's parameters as they were sent, not as conditions.
    for key in ("FunctionUrlAuthType", "InvokedViaFunctionUrl"):
        if key in item and f"lambda:{key}" not in conditions:
            conditions[f"lambda:{key}"] = str(item[key])
    return PolicyStatement(str(item.get("Sid", "")), str(action), str(principal), conditions)


def deployed_image(code: Mapping[str, Any]) -> str:
    """REGISTRY/REPO@sha256:... of an image function, from GetFunction's Code."""
    image_uri = str(code.get("ImageUri") or "")
    if "@sha256:" in image_uri:  # deployed by digest: exactly what was asked for
        return image_uri
    # Deployed by tag (not by uv-lambda): the digest the tag pointed at then.
    return str(code.get("ResolvedImageUri") or image_uri)


def function_state(
    configuration: dict[str, Any], tags: Mapping[str, str], code: Mapping[str, Any] | None = None
) -> FunctionState:
    environment = configuration.get("Environment") or {}
    return FunctionState(
        arn=configuration["FunctionArn"],
        package_type=configuration.get("PackageType", "Zip"),
        runtime=configuration.get("Runtime") or "",  # image functions have neither
        handler=configuration.get("Handler") or "",
        architecture=(configuration.get("Architectures") or [Architecture.X86_64])[0],
        memory=int(configuration.get("MemorySize", limits.DEFAULT_MEMORY_MB)),
        timeout=int(configuration.get("Timeout", limits.DEFAULT_TIMEOUT_SECONDS)),
        environment=dict(environment.get("Variables") or {}),
        ephemeral_storage=int(
            (configuration.get("EphemeralStorage") or {}).get("Size", limits.DEFAULT_EPHEMERAL_STORAGE_MB)
        ),
        description=configuration.get("Description", ""),
        layers=tuple(layer["Arn"] for layer in configuration.get("Layers", [])),
        role=configuration.get("Role", ""),
        code_sha256=configuration.get("CodeSha256", ""),
        tags=dict(tags),
        version=str(configuration.get("Version", "$LATEST")),
        image_uri=deployed_image(code or {}),
        state=str(configuration.get("State") or ""),
        state_reason=str(configuration.get("StateReason") or ""),
        last_update_status=str(configuration.get("LastUpdateStatus") or ""),
        last_update_reason=str(configuration.get("LastUpdateStatusReason") or ""),
    )
