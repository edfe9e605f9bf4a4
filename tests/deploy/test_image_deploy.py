"""Image functions (format = "image"): build, push, PackageType=Image, against moto and a real registry.

Moto's ECR has no registry behind it, so the pushes go to Debian's docker-registry on
127.0.0.1 (started with the image tests' helpers) through `image-repository`; the ECR side
(repository creation, its tag, the login token, destroy) is checked against moto's ECR API.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import REGION, RecordingProxy, make_project, write_image_layout, write_zip_build

# The registry fixture and the synthetic base image come from the image tests' helpers.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "image"))
from image_helpers import (  # type: ignore[import-not-found,unused-ignore]
    BASE_REPOSITORY,
    PASSWORD,
    USERNAME,
    OciLayoutWriter,
    Registry,
    start_registry,
    stop_registry,
)
from test_planner_unit import MemoryState, desired

from uv_lambda.deploy.aws import connect
from uv_lambda.deploy.errors import DeployError
from uv_lambda.deploy.executor import execute
from uv_lambda.deploy.images import read_layout
from uv_lambda.deploy.models import ROLE_TAG, DesiredFunction, ImageArtifact, Plan, PushImage, RepositoryState, Step
from uv_lambda.deploy.planner import plan_deploy
from uv_lambda.errors import UsageError, UvLambdaError
from uv_lambda.image.reference import parse_repository
from uv_lambda.ui import Reporter

ACCOUNT_REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
APP = 'def handler(event, context):\n    return {"statusCode": 200, "body": "hello from an image"}\n'


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    running = start_registry(tmp_path_factory.mktemp("deploy-registry"))
    yield running
    stop_registry(running)


@pytest.fixture(scope="module")
def base_image(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The synthetic Lambda base image (amd64 + arm64 under one index), pushed by skopeo."""
    layout = OciLayoutWriter(tmp_path_factory.mktemp("deploy-base-layout"))
    layout.index("3.13", ["amd64", "arm64"])
    reference = f"{registry.host}/{BASE_REPOSITORY}:3.13"
    registry.skopeo(
        "copy",
        "--all",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"{USERNAME}:{PASSWORD}",
        f"oci:{layout.root}:3.13",
        f"docker://{reference}",
    )
    return reference


@pytest.fixture
def registry_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_LAMBDA_REGISTRY_USERNAME", USERNAME)
    monkeypatch.setenv("UV_LAMBDA_REGISTRY_PASSWORD", PASSWORD)


def _image_project(root: Path, tool: str = "") -> Path:
    """A project with no dependencies and one module: quick to stage and build for real."""
    project = make_project(root, tool=f'format = "image"\n{tool}')
    (project / "app.py").write_text(APP)
    return project


def _steps(result: Any) -> list[tuple[str, str]]:
    return [(step["resource"], step["kind"]) for step in result.json()["functions"][0]["plan"]["steps"]]


def _calls(proxy: RecordingProxy, operation: str) -> list[dict[str, Any]]:
    return [json.loads(call.body) for call in proxy.calls if call.operation == operation]


@pytest.mark.slow
def test_image_lifecycle_against_a_real_registry(  # noqa: PLR0913  pytest passes fixtures by name
    tmp_path: Path,
    deploy_cli: Any,
    proxy: RecordingProxy,
    clients: Any,
    registry: Registry,
    base_image: str,
    registry_login: None,
) -> None:
    repository = f"{registry.host}/deploy/hello"
    project = _image_project(tmp_path / "p", tool=f'image-repository = "{repository}"\n')
    flags = ("--base-image", base_image, "--lock", "--yes", "--json")

    # --plan: the image is built locally, nothing is written to AWS or to the registry.
    blobs = registry.blob_count()
    planned = deploy_cli("deploy", project, "--plan", *flags)
    assert planned.code == 0, planned.err
    assert proxy.writes() == []
    assert registry.blob_count() == blobs
    assert _steps(planned) == [
        ("repository", "no-change"),
        ("role", "create"),
        ("image", "create"),
        ("function", "create"),
    ]
    digest = read_layout(project / "dist" / "lambda" / "hello" / "image").digest

    # First deploy: role, push, CreateFunction with PackageType=Image and the digest reference.
    proxy.reset()
    first = deploy_cli("deploy", project, *flags)
    assert first.code == 0, first.err
    assert proxy.writes() == ["CreateRole", "AttachRolePolicy", "CreateFunction"]
    (created,) = _calls(proxy, "CreateFunction")
    assert created["PackageType"] == "Image"
    assert created["Code"] == {"ImageUri": f"{repository}@{digest}"}
    assert not {"Runtime", "Handler", "Layers"} & set(created)
    function = clients.lam.get_function(FunctionName="hello")
    assert function["Configuration"]["PackageType"] == "Image"
    assert function["Code"]["ImageUri"] == f"{repository}@{digest}"
    # The registry holds the image under that digest, with the handler as Cmd.
    pushed = registry.inspect(f"{repository}@{digest}", config=True)
    assert pushed["config"]["Cmd"] == ["app.handler"] and pushed["architecture"] == "amd64"
    assert first.json()["functions"][0]["result"]["bytes_uploaded"] > 0

    # Nothing changed: no Lambda write, no push, not a byte uploaded.
    proxy.reset()
    blobs = registry.blob_count()
    noop = deploy_cli("deploy", project, *flags)
    assert noop.code == 0, noop.err
    assert proxy.writes() == []
    assert ("image", "create") not in _steps(noop)
    assert noop.json()["functions"][0]["result"]["bytes_uploaded"] == 0
    assert registry.blob_count() == blobs

    # The app edited: one new layer (+ config and manifest) in the registry, one UpdateFunctionCode.
    (project / "app.py").write_text(APP.replace("hello from an image", "edited"))
    proxy.reset()
    edited = deploy_cli("deploy", project, *flags)
    assert edited.code == 0, edited.err
    assert proxy.writes() == ["UpdateFunctionCode"]
    new_digest = read_layout(project / "dist" / "lambda" / "hello" / "image").digest
    assert new_digest != digest
    (update,) = _calls(proxy, "UpdateFunctionCode")
    assert update == {"ImageUri": f"{repository}@{new_digest}", "Architectures": ["x86_64"]}
    # On disk the registry keeps manifests as blobs too: app layer + config + manifest.
    assert registry.blob_count() == blobs + 3
    assert edited.json()["functions"][0]["result"]["bytes_uploaded"] < 64 * 1024
    assert clients.lam.get_function(FunctionName="hello")["Code"]["ImageUri"] == f"{repository}@{new_digest}"

    # Destroy: the function and its role go; a configured registry is not uv-lambda's to empty.
    gone = deploy_cli("destroy", project, "--yes", "--json")
    assert gone.code == 0, gone.err
    assert ("repository", "no-change") in _steps(gone)
    assert clients.lam.list_functions()["Functions"] == []
    assert all(role["RoleName"] != "uv-lambda-hello" for role in clients.iam.list_roles()["Roles"])
    assert registry.inspect(f"{repository}@{new_digest}", config=True)["config"]["Cmd"] == ["app.handler"]


def test_zip_function_cannot_become_an_image(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    project = make_project(tmp_path / "p", tool='image-repository = "127.0.0.1:9/unused"\n')
    write_zip_build(project)
    assert deploy_cli("deploy", project, "--no-build", "--yes").code == 0
    write_image_layout(project)

    proxy.reset()
    result = deploy_cli("deploy", project, "--format", "image", "--no-build", "--yes")

    assert result.code == 1
    assert "function hello exists with package type Zip, not Image" in result.err
    assert "uv-lambda destroy" in result.err
    assert "Traceback" not in result.err
    assert proxy.writes() == []


def test_image_function_cannot_become_a_zip(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    role = clients.iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    clients.lam.create_function(
        FunctionName="hello", Role=role, PackageType="Image", Code={"ImageUri": f"{ACCOUNT_REGISTRY}/hello:latest"}
    )
    project = make_project(tmp_path / "p")
    write_zip_build(project)

    proxy.reset()
    result = deploy_cli("deploy", project, "--no-build", "--yes")

    assert result.code == 1
    assert "exists with package type Image, not Zip" in result.err
    assert proxy.writes() == []


def test_plan_for_ecr_creates_the_repository_and_makes_no_call_that_writes(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    project = make_project(tmp_path / "p", tool='format = "image"\n')
    digest = write_image_layout(project)

    result = deploy_cli("deploy", project, "--no-build", "--plan", "--json")

    assert result.code == 0, result.err
    steps = result.json()["functions"][0]["plan"]["steps"]
    assert [(s["resource"], s["kind"], s["target"]) for s in steps] == [
        ("repository", "create", f"{ACCOUNT_REGISTRY}/hello"),
        ("repository-policy", "create", "hello"),
        ("role", "create", "uv-lambda-hello"),
        ("image", "create", f"{ACCOUNT_REGISTRY}/hello:latest"),
        ("function", "create", "hello"),
    ]
    assert digest.removeprefix("sha256:")[:10] in steps[3]["reason"]
    assert proxy.writes() == []
    assert "DescribeRepositories" in proxy.operations()
    assert "GetAuthorizationToken" not in proxy.operations()  # a login is needed only to push
    assert clients.lam.list_functions()["Functions"] == []


def test_existing_function_with_the_same_image_plans_no_push(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    project = make_project(tmp_path / "p", tool='format = "image"\nmemory = 512\n')
    digest = write_image_layout(project)
    aws = connect(region=REGION, profile=None, endpoint_url=proxy.url)
    uri = aws.create_repository("hello", "hello")
    role = clients.iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    clients.lam.create_function(
        FunctionName="hello",
        Role=role,
        PackageType="Image",
        Code={"ImageUri": f"{uri}@{digest}"},
        Architectures=["x86_64"],
        Tags={ROLE_TAG: "hello"},  # as uv-lambda deployed it
    )

    proxy.reset()
    result = deploy_cli("deploy", project, "--no-build", "--json", "--yes", "--plan")

    assert result.code == 0, result.err
    kinds = {(step["resource"], step["kind"]) for step in result.json()["functions"][0]["plan"]["steps"]}
    assert ("code", "no-change") in kinds
    assert ("configuration", "update") in kinds  # memory 128 -> 512, the image is the same
    assert not any(resource == "image" for resource, _ in kinds)
    assert proxy.writes() == []


def test_version_of_an_image_function_compares_the_image(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    role = clients.iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    project = make_project(tmp_path / "p", tool=f'format = "image"\nrole = "{role}"\n')
    digest = write_image_layout(project)
    aws = connect(region=REGION, profile=None, endpoint_url=proxy.url)
    uri = aws.create_repository("hello", "hello")
    old = "sha256:" + "0" * 64
    clients.lam.create_function(
        FunctionName="hello",
        Role=role,
        PackageType="Image",
        Code={"ImageUri": f"{uri}@{old}"},
        Tags={ROLE_TAG: "hello"},  # as uv-lambda deployed it
    )
    clients.lam.publish_version(FunctionName="hello")  # version 1 runs the old image
    clients.lam.update_function_code(FunctionName="hello", ImageUri=f"{uri}@{digest}")
    proxy.reset()

    def plan() -> dict[str, tuple[str, str]]:
        result = deploy_cli("deploy", project, "--no-build", "--alias", "live", "--plan", "--json")
        assert result.code == 0, result.err
        steps = result.json()["functions"][0]["plan"]["steps"]
        return {step["resource"]: (step["kind"], step["reason"]) for step in steps}

    stale = plan()
    assert stale["code"][0] == "no-change"
    assert stale["version"] == ("create", "version 1 differs: image")
    assert stale["alias"][0] == "create"

    clients.lam.publish_version(FunctionName="hello")  # version 2 runs the built image
    assert plan()["version"] == ("no-change", "version 2 is current")
    assert proxy.writes() == []


@pytest.mark.slow
def test_ecr_repository_created_with_tag_login_token_and_destroy(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    """The ECR calls of an image deploy, against moto's ECR API (there is no registry to push to)."""
    import boto3

    aws = connect(region=REGION, profile=None, endpoint_url=proxy.url)
    assert aws.get_repository("hello") is None
    uri = aws.create_repository("hello", "hello")
    assert uri == f"{ACCOUNT_REGISTRY}/hello"
    assert aws.create_repository("hello", "hello") == uri  # a retried create converges
    state = aws.get_repository("hello")
    assert state is not None and state.created_for("hello") and state.tags == {ROLE_TAG: "hello"}
    username, password = aws.registry_login(ACCOUNT_REGISTRY)
    assert username == "AWS" and password

    ecr = boto3.client("ecr", region_name=REGION, endpoint_url=proxy.url)
    ecr.create_repository(repositoryName="shared")  # not uv-lambda's
    role = clients.iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for name in ("hello", "other"):
        clients.lam.create_function(
            FunctionName=name, Role=role, PackageType="Image", Code={"ImageUri": f"{uri}:latest"}, Tags={ROLE_TAG: name}
        )
    mine = make_project(tmp_path / "hello", tool='format = "image"\n')
    shared = make_project(
        tmp_path / "other", name="other", tool=f'format = "image"\nimage-repository = "{ACCOUNT_REGISTRY}/shared"\n'
    )

    proxy.reset()
    assert deploy_cli("destroy", shared, "--yes").code == 0
    assert proxy.writes() == ["DeleteFunction"]
    proxy.reset()
    result = deploy_cli("destroy", mine, "--yes", "--json")
    assert result.code == 0, result.err
    assert ("repository", "delete") in _steps(result)
    assert proxy.writes() == ["DeleteFunction", "DeleteRepository"]
    names = {repo["repositoryName"] for repo in ecr.describe_repositories()["repositories"]}
    assert names == {"shared"}


def test_push_to_an_ecr_repository_logs_in_with_a_token_from_the_deploy_session(
    tmp_path: Path, proxy: RecordingProxy, registry: Registry
) -> None:
    """Moto's token is no login for the local registry: the refusal proves which login was sent."""
    digest = write_image_layout(tmp_path)
    image = read_layout(tmp_path / "dist" / "lambda" / "hello" / "image")
    target = f"{registry.host}/ecr/hello:latest"
    push = PushImage(image.layout, target, digest, image.size, ecr=True)
    plan = Plan("deploy", "hello", REGION, (Step("image", target, "create", "new image", push),))
    aws = connect(region=REGION, profile=None, endpoint_url=proxy.url)

    with pytest.raises(UvLambdaError, match="refused the credentials"):
        execute(plan, aws, Reporter(quiet=True))

    assert proxy.operations() == ["GetAuthorizationToken"]


# ---- pure planning logic -----------------------------------------------------------------


def test_image_repository_is_parsed_and_bad_ones_refused() -> None:
    team = parse_repository("127.0.0.1:5000/team/api")
    assert (team.registry, team.repository, team.identifier) == ("127.0.0.1:5000", "team/api", "latest")
    prod = parse_repository(f"{ACCOUNT_REGISTRY}/api:prod")
    assert (prod.registry, prod.repository, prod.identifier) == (ACCOUNT_REGISTRY, "api", "prod")
    with pytest.raises(UsageError, match="names a digest"):
        parse_repository(f"{ACCOUNT_REGISTRY}/api@sha256:" + "a" * 64)
    with pytest.raises(UsageError, match="names no registry"):
        parse_repository("api")


def _image_desired(tmp_path: Path, repository: str | None) -> DesiredFunction:
    image = ImageArtifact(tmp_path, "sha256:" + "b" * 64, "x86_64", 1000)
    return desired(code=None, layer=None, image=image, image_repository=repository)


def test_ecr_repository_not_made_by_uv_lambda_is_used_and_pushed_to_with_an_ecr_login(tmp_path: Path) -> None:
    uri = f"{ACCOUNT_REGISTRY}/shared"
    state = MemoryState(repositories={"shared": RepositoryState("shared", uri, "arn:repo", {})})

    plan = plan_deploy(_image_desired(tmp_path, f"{uri}:v2"), state)

    steps = {step.resource: step for step in plan.steps}
    assert steps["repository"].kind == "no-change" and "destroy leaves it" in steps["repository"].reason
    push = steps["image"].action
    assert isinstance(push, PushImage) and push.target == f"{uri}:v2" and push.ecr
    assert steps["function"].kind == "create"


def test_an_image_change_is_shown_with_its_digests_and_size(tmp_path: Path) -> None:
    from dataclasses import replace

    from test_planner_unit import deployed_state

    uri = f"{ACCOUNT_REGISTRY}/fn"
    state = deployed_state()
    assert state.function is not None
    state.function = replace(state.function, package_type="Image", image_uri=f"{uri}@sha256:{'a' * 64}")
    state.repositories = {"fn": RepositoryState("fn", uri, "arn:repo", {ROLE_TAG: "fn"})}

    plan = plan_deploy(_image_desired(tmp_path, None), state)

    steps = {step.resource: step for step in plan.changes}
    assert steps["code"].reason == "image fn@aaaaaaaaaa… -> fn@bbbbbbbbbb… (1.0 KB)"
    assert steps["image"].reason == "new image: push bbbbbbbbbb…, 1.0 KB (only the blobs it lacks)"


def test_ecr_repository_in_another_region_is_refused(tmp_path: Path) -> None:
    elsewhere = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api"
    with pytest.raises(DeployError, match="is in eu-west-1, the function in us-east-1"):
        plan_deploy(_image_desired(tmp_path, elsewhere), MemoryState())


def test_repositories_uv_lambda_creates_let_lambda_pull(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    """Without the repository policy, Lambda cannot pull the image (State Failed, ImageAccessDenied)."""
    from uv_lambda.deploy.planner import lets_lambda_pull

    project = make_project(tmp_path / "p", tool='format = "image"\n')
    write_image_layout(project)
    aws = connect(region=REGION, profile=None, endpoint_url=proxy.url)
    aws.create_repository("hello", "hello")  # an earlier deploy, interrupted before the policy
    assert aws.get_repository_policy("hello") is None

    planned = deploy_cli("deploy", project, "--no-build", "--plan", "--json")
    assert ("repository-policy", "create") in _steps(planned)

    aws.set_repository_policy("hello")
    policy = aws.get_repository_policy("hello")
    assert lets_lambda_pull(policy)
    statement = json.loads(policy or "{}")["Statement"][0]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert sorted(statement["Action"]) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    again = deploy_cli("deploy", project, "--no-build", "--plan", "--json")
    assert ("repository-policy", "no-change") in _steps(again)
    assert proxy.writes() == ["CreateRepository", "SetRepositoryPolicy"]  # the plans wrote nothing


def test_a_statement_someone_added_to_the_repository_policy_is_kept(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy
) -> None:
    """SetRepositoryPolicy replaces the whole document: the plan's one keeps what was there."""
    import boto3

    project = make_project(tmp_path / "p", tool='format = "image"\n')
    write_image_layout(project)
    aws = connect(region=REGION, profile=None, endpoint_url=proxy.url)
    aws.create_repository("hello", "hello")
    theirs = {
        "Sid": "ci-pull",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
        "Action": ["ecr:BatchGetImage"],
    }
    ecr = boto3.client("ecr", region_name=REGION, endpoint_url=proxy.url)
    ecr.set_repository_policy(
        repositoryName="hello", policyText=json.dumps({"Version": "2012-10-17", "Statement": [theirs]})
    )

    planned = deploy_cli("deploy", project, "--no-build", "--plan", "--json")
    [step] = [s for s in planned.json()["functions"][0]["plan"]["steps"] if s["resource"] == "repository-policy"]
    assert step["kind"] == "create" and step["reason"].endswith("; its 1 other statement kept")

    # What the executor runs for that step.
    from uv_lambda.deploy.planner import with_lambda_pull

    aws.set_repository_policy("hello", with_lambda_pull(aws.get_repository_policy("hello"))[0])
    statements = json.loads(aws.get_repository_policy("hello") or "{}")["Statement"]
    assert [s["Sid"] for s in statements] == ["ci-pull", "uv-lambda-pull"]
    assert statements[0] == theirs
    assert ("repository-policy", "no-change") in _steps(deploy_cli("deploy", project, "--no-build", "--plan", "--json"))


def test_the_pull_statement_is_added_once_and_replaced_when_wrong() -> None:
    from uv_lambda.deploy.models import ECR_LAMBDA_POLICY
    from uv_lambda.deploy.planner import lets_lambda_pull, with_lambda_pull

    assert with_lambda_pull(None) == (ECR_LAMBDA_POLICY, 0)
    assert with_lambda_pull("not json") == (ECR_LAMBDA_POLICY, 0)
    broken = {"Sid": "uv-lambda-pull", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    other = {"Sid": "x", "Effect": "Deny", "Principal": "*", "Action": "ecr:DeleteRepository"}
    text, kept = with_lambda_pull(json.dumps({"Version": "2012-10-17", "Statement": [broken, other]}))
    statements = json.loads(text)["Statement"]
    assert kept == 1 and [s["Sid"] for s in statements] == ["x", "uv-lambda-pull"]
    assert lets_lambda_pull(text) and not lets_lambda_pull(json.dumps({"Statement": [broken]}))
