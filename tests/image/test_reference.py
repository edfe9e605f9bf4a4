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
