"""Bearer token authentication, as public registries and Docker Hub use it: a real registry in
token mode that verifies every token, and a token service that signs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from image_helpers import Staged
from tests.support.registry import BASE_REPOSITORY, Registry
from tests.support.token_service import TokenService

from uv_lambda.image.assemble import build_image
from uv_lambda.image.auth import Credentials
from uv_lambda.image.reader import pull_image
from uv_lambda.image.reference import image_target, parse_reference
from uv_lambda.image.registry import RegistryError
from uv_lambda.runtimes import Architecture
from uv_lambda.ui import Reporter


@pytest.fixture(autouse=True)
def no_ambient_login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("UV_LAMBDA_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("UV_LAMBDA_REGISTRY_PASSWORD", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))


def test_anonymous_pull_gets_a_pull_token(token_registry: tuple[Registry, TokenService], tmp_path: Path) -> None:
    registry, service = token_registry
    service.requests.clear()
    image = pull_image(
        parse_reference(f"{registry.host}/{BASE_REPOSITORY}:3.13"), Architecture.ARM64, cache_dir=tmp_path
    )
    assert image.config["architecture"] == "arm64"
    assert service.requests == [(False, [f"repository:{BASE_REPOSITORY}:pull"])]  # one token, reused


def test_push_with_a_login(token_registry: tuple[Registry, TokenService], staged: Staged, cache_dir: Path) -> None:
    registry, service = token_registry
    service.requests.clear()
    target = f"{registry.host}/token/app:v1"
    result = build_image(
        staged,
        image_target(push=target, base_image=f"{registry.host}/{BASE_REPOSITORY}:3.13"),
        reporter=Reporter(quiet=True),
        cache_dir=cache_dir,
        registry_credentials={registry.host: registry.credentials},
    )
    assert registry.inspect(target)["Digest"] == result.digest
    assert result.mounted  # the base layer was mounted: that token named both repositories
    scopes = [scope for authenticated, wanted in service.requests for scope in wanted if authenticated]
    assert "repository:token/app:pull,push" in scopes
    assert f"repository:{BASE_REPOSITORY}:pull" in scopes


def test_anonymous_push_needs_a_login(
    token_registry: tuple[Registry, TokenService], staged: Staged, cache_dir: Path
) -> None:
    registry, _ = token_registry
    target = f"{registry.host}/token/anonymous:v1"
    with pytest.raises(RegistryError) as raised:
        build_image(
            staged,
            image_target(push=target, base_image=f"{registry.host}/{BASE_REPOSITORY}:3.13"),
            reporter=Reporter(quiet=True),
            cache_dir=cache_dir,
        )
    assert "needs a login" in raised.value.message and target in raised.value.message
    assert "\n" not in raised.value.message


def test_wrong_password_at_the_token_service(token_registry: tuple[Registry, TokenService], tmp_path: Path) -> None:
    registry, _ = token_registry
    with pytest.raises(RegistryError) as raised:
        pull_image(
            parse_reference(f"{registry.host}/{BASE_REPOSITORY}:3.13"),
            Architecture.X86_64,
            cache_dir=tmp_path,
            registry_credentials=Credentials("lambda", "wrong"),
        )
    assert "refused the credentials" in raised.value.message
    assert registry.host in raised.value.message and "401" in raised.value.message
