"""Where registry credentials come from: the environment, Docker's config file, or ECR.

Looked up in this order for a registry host:
1. UV_LAMBDA_REGISTRY_USERNAME / UV_LAMBDA_REGISTRY_PASSWORD, for the registry pushed to
   (a base image on another registry keeps anonymous access: these are not sent there);
2. `auths` in ~/.docker/config.json (or $DOCKER_CONFIG/config.json), as `docker login` writes;
3. for an ECR registry, a token from ECR's GetAuthorizationToken (needs AWS credentials).
None means anonymous: public registries hand out pull tokens to anyone.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

from uv_lambda.errors import UsageError
from uv_lambda.image.auth import Credentials

_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


def from_environment() -> Credentials | None:
    username = os.environ.get("UV_LAMBDA_REGISTRY_USERNAME")
    password = os.environ.get("UV_LAMBDA_REGISTRY_PASSWORD")
    if username is None and password is None:
        return None
    if not username or password is None:
        raise UsageError(
            "only one of UV_LAMBDA_REGISTRY_USERNAME and UV_LAMBDA_REGISTRY_PASSWORD is set",
            "set both, or neither for anonymous access",
        )
    return Credentials(username, password)


def from_docker_config(registry: str) -> Credentials | None:
    folder = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    try:
        auths = json.loads((Path(folder) / "config.json").read_text()).get("auths", {})
    except (OSError, ValueError, AttributeError):
        return None
    names = {registry, f"https://{registry}", f"http://{registry}"}
    if registry == "registry-1.docker.io":
        names |= {"docker.io", "index.docker.io", "https://index.docker.io/v1/"}
    for name, entry in auths.items():
        if name.rstrip("/") in names or name in names:
            encoded = entry.get("auth") if isinstance(entry, dict) else None
            if encoded:
                username, _, password = base64.b64decode(encoded).decode().partition(":")
                return Credentials(username, password)
    return None


def ecr_region(registry: str) -> str | None:
    match = _ECR_HOST.match(registry)
    return match.group(2) if match else None


def from_ecr(registry: str) -> Credentials:
    """ECR's 12-hour token: user `AWS`, password from GetAuthorizationToken."""
    import boto3
    import botocore.exceptions

    match = _ECR_HOST.match(registry)
    assert match, registry
    try:
        client = boto3.client("ecr", region_name=match.group(2))
        answer = client.get_authorization_token(registryIds=[match.group(1)])
        token = answer["authorizationData"][0]["authorizationToken"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise UsageError(
            f"could not get a login token for registry {registry}: {error}",
            "configure AWS credentials allowed to call ecr:GetAuthorizationToken",
        ) from None
    username, _, password = base64.b64decode(token).decode().partition(":")
    return Credentials(username, password)


def credentials_for(registry: str, *, push_target: bool) -> Credentials | None:
    if push_target:
        explicit = from_environment()
        if explicit is not None:
            return explicit
    configured = from_docker_config(registry)
    if configured is not None:
        return configured
    if ecr_region(registry):
        return from_ecr(registry)
    return None
