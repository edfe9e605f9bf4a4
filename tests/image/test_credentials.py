"""Where logins come from: Docker's config file and the environment, checked against the
real registry (which refuses anything without a valid login)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from image_helpers import Staged
from tests.support.registry import BaseImages, Registry, free_port

from uv_lambda import proc
from uv_lambda.errors import UsageError
from uv_lambda.image.assemble import build_image
from uv_lambda.image.auth import Credentials
from uv_lambda.image.credentials import credentials_for, ecr_region
from uv_lambda.image.reference import image_target
from uv_lambda.image.registry import RegistryError
from uv_lambda.ui import Reporter


@pytest.fixture(autouse=True)
def no_ambient_login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("UV_LAMBDA_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("UV_LAMBDA_REGISTRY_PASSWORD", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))


def _build(staged: Staged, base: str, push: str, cache_dir: Path) -> str:
    result = build_image(
        staged, image_target(push=push, base_image=base), reporter=Reporter(quiet=True), cache_dir=cache_dir
    )
    return result.digest


def test_docker_config_login(
    registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path, tmp_path: Path
) -> None:
    auth = base64.b64encode(f"{registry.credentials.username}:{registry.credentials.password}".encode())
    (tmp_path / "docker-config").mkdir()
    (tmp_path / "docker-config" / "config.json").write_text(
        json.dumps({"auths": {registry.host: {"auth": auth.decode()}}})
    )
    target = f"{registry.host}/credentials/docker-config:v1"
    assert _build(staged, base_images.multi_arch, target, cache_dir) == registry.inspect(target)["Digest"]


def test_environment_login(
    registry: Registry,
    base_images: BaseImages,
    staged: Staged,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UV_LAMBDA_REGISTRY_USERNAME", registry.credentials.username)
    monkeypatch.setenv("UV_LAMBDA_REGISTRY_PASSWORD", registry.credentials.password)
    target = f"{registry.host}/credentials/environment:v1"
    assert _build(staged, base_images.multi_arch, target, cache_dir) == registry.inspect(target)["Digest"]


def test_no_login_anywhere(registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path) -> None:
    with pytest.raises(RegistryError) as raised:
        _build(staged, base_images.multi_arch, f"{registry.host}/credentials/none:v1", cache_dir)
    assert "needs a login" in raised.value.message
    assert raised.value.hint and "UV_LAMBDA_REGISTRY_USERNAME" in raised.value.hint


def test_environment_login_is_not_sent_to_other_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_LAMBDA_REGISTRY_USERNAME", "user")
    monkeypatch.setenv("UV_LAMBDA_REGISTRY_PASSWORD", "pass")
    assert credentials_for("registry.example", push_target=True) == Credentials("user", "pass")
    assert credentials_for("public.ecr.aws", push_target=False) is None


def test_half_an_environment_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_LAMBDA_REGISTRY_USERNAME", "user")
    with pytest.raises(UsageError) as raised:
        credentials_for("registry.example", push_target=True)
    assert "UV_LAMBDA_REGISTRY_PASSWORD" in raised.value.message


def test_ecr_hosts() -> None:
    assert ecr_region("123456789012.dkr.ecr.eu-west-1.amazonaws.com") == "eu-west-1"
    assert ecr_region("public.ecr.aws") is None
    assert ecr_region("127.0.0.1:5000") is None


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real moto_server on 127.0.0.1 standing in for ECR's API."""
    port = free_port()
    binary = Path(sys.executable).with_name("moto_server")
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as handle:
        process = proc.spawn(
            [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=handle.fileno(), stderr=subprocess.STDOUT
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"moto_server did not start: {log.read_text()[-2000:]}")
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


def test_ecr_login_from_get_authorization_token(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    import boto3

    token = boto3.client("ecr", region_name="eu-west-1").get_authorization_token()
    expected = base64.b64decode(token["authorizationData"][0]["authorizationToken"]).decode()
    login = credentials_for("123456789012.dkr.ecr.eu-west-1.amazonaws.com", push_target=True)
    assert login is not None and login.username == "AWS"
    assert f"{login.username}:{login.password}" == expected


def test_ecr_token_service_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(UsageError) as raised:
        credentials_for("123456789012.dkr.ecr.eu-west-1.amazonaws.com", push_target=True)
    assert "123456789012.dkr.ecr.eu-west-1.amazonaws.com" in raised.value.message
    assert "\n" not in raised.value.message
