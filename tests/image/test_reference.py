"""Image reference parsing, as Docker reads references."""

from __future__ import annotations

import pytest

from uv_lambda.errors import UsageError
from uv_lambda.image.reference import parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("public.ecr.aws/lambda/python:3.13", "public.ecr.aws", "lambda/python", "3.13", None),
        (
            "public.ecr.aws/lambda/python:3.13-arm64",
            "public.ecr.aws",
            "lambda/python",
            "3.13-arm64",
            None,
        ),
        ("127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", None),
        ("localhost/app:v1", "localhost", "app", "v1", None),
        ("python:3.13", "registry-1.docker.io", "library/python", "3.13", None),
        ("docker.io/org/app", "registry-1.docker.io", "org/app", "latest", None),
        (f"127.0.0.1:5000/a/b@{DIGEST}", "127.0.0.1:5000", "a/b", None, DIGEST),
        (f"r.example.com/a:t@{DIGEST}", "r.example.com", "a", "t", DIGEST),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:1",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "fn",
            "1",
            None,
        ),
    ],
)
def test_parse(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert ref.identifier == (digest or tag)


def test_loopback_registries_are_plain_http() -> None:
    assert parse_reference("127.0.0.1:5000/app").is_loopback
    assert parse_reference("localhost:5000/app").is_loopback
    assert not parse_reference("public.ecr.aws/lambda/python").is_loopback


@pytest.mark.parametrize(
    "text", ["", "UPPER/case", "r.example.com/app:bad tag", "app@sha256:123", "r.example.com/app:"]
)
def test_invalid_references_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_reference(text)
    assert "\n" not in raised.value.message and raised.value.hint


def test_image_target_parses_each_flag_once() -> None:
    from uv_lambda.image.reference import image_target

    target = image_target(push="localhost:5000/team/api", output="docker-archive:api.tar", base_image="python:3.13")
    assert target.push == parse_reference("localhost:5000/team/api:latest")
    assert target.login_registry == "localhost:5000"  # the environment's login is the push registry's
    assert target.base is not None and target.base.repository == "library/python"
    assert target.output is not None and (target.output.kind, target.output.path.name) == ("docker-archive", "api.tar")
    assert image_target() == image_target(push=None, output=None, base_image=None)
    with pytest.raises(UsageError, match="a digest names an image"):
        image_target(push=f"localhost:5000/api@{DIGEST}")


def test_the_configured_repository_is_pushed_to_unless_push_says_otherwise() -> None:
    from dataclasses import replace

    from uv_lambda.app.image import configured_target
    from uv_lambda.config import FunctionConfig
    from uv_lambda.image.reference import image_target

    config = replace(FunctionConfig(name="api"), image_repository="localhost:5000/team/api")
    assert configured_target(config, image_target()).push == parse_reference("localhost:5000/team/api:latest")
    flags = image_target(push="localhost:6000/other:v1")
    assert configured_target(config, flags) == flags
    assert configured_target(replace(config, image_repository=None), image_target()).push is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("api", "image-repository api names no registry"),
        (f"localhost:5000/api@{DIGEST}", "names a digest"),
        ("localhost:5000/API", "invalid repository 'API'"),
    ],
)
def test_a_repository_to_deploy_to_names_its_registry(text: str, message: str) -> None:
    from uv_lambda.image.reference import parse_repository

    with pytest.raises(UsageError, match=message):
        parse_repository(text)
