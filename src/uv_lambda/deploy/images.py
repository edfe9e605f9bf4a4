"""Image functions: read the image built into a local OCI layout back, push it from there.

A deploy builds the image (app/image.py) without pushing it (`--plan` must not write
anywhere, a registry included): the layout in dist/lambda/<function>/image holds every blob, and its manifest
digest is what the function will run, wherever the image goes. The executor pushes the
layout (only the blobs the registry lacks) when the plan says so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uv_lambda.deploy.errors import DeployError
from uv_lambda.deploy.models import ImageArtifact
from uv_lambda.model import Architecture

if TYPE_CHECKING:
    from uv_lambda.image.auth import Credentials

# What a push to ECR through the registry API needs (HEAD of blobs and manifests, uploads,
# the manifest); Lambda's CreateFunction/UpdateFunctionCode with an ImageUri needs the two
# pull actions from the deploying principal too.
ECR_PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
_ARCHITECTURES = {architecture.oci_name: architecture for architecture in Architecture}
_HINT = "rebuild it: `uv-lambda deploy` without --no-build, or `uv-lambda build --format image`"


def _blob(layout: Path, digest: str) -> Path:
    algorithm, _, hexdigest = digest.partition(":")
    return layout / "blobs" / algorithm / hexdigest


def _json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise DeployError(f"cannot read the built image: {path}: {exc}", _HINT) from None
    if not isinstance(document, dict):
        raise DeployError(f"cannot read the built image: {path} is not a JSON object", _HINT)
    return document


def _manifest_descriptor(layout: Path) -> dict[str, Any]:
    manifests = _json(layout / "index.json").get("manifests") or []
    if len(manifests) != 1:
        raise DeployError(f"{layout} holds {len(manifests)} images, expected one", _HINT)
    return dict(manifests[0])


def read_layout(layout: Path) -> ImageArtifact:
    """The digest, architecture and size of the one image in an OCI layout folder."""
    if not (layout / "index.json").is_file():
        raise DeployError(f"no built image in {layout}", _HINT)
    descriptor = _manifest_descriptor(layout)
    digest = str(descriptor.get("digest", ""))
    manifest = _json(_blob(layout, digest))
    config = _json(_blob(layout, str(manifest["config"]["digest"])))
    architecture = _ARCHITECTURES.get(str(config.get("architecture")))
    if architecture is None:
        raise DeployError(f"the image in {layout} is for {config.get('architecture')}, not amd64 or arm64", _HINT)
    parts = [manifest["config"], *manifest.get("layers", [])]
    size = int(descriptor.get("size", 0)) + sum(int(part["size"]) for part in parts)
    return ImageArtifact(layout, digest, architecture, size)


def push_layout(layout: Path, target: str, digest: str, credentials: Credentials | None) -> int:
    """Push the image in `layout` to `target` (REGISTRY/REPO:TAG); return the bytes sent.

    Only blobs the registry does not have are uploaded (HEAD first), then the manifest.
    """
    from uv_lambda.image.compose import ComposedImage
    from uv_lambda.image.oci import Descriptor
    from uv_lambda.image.push import push_image
    from uv_lambda.image.reference import parse_reference
    from uv_lambda.image.registry import RegistryClient
    from uv_lambda.image.store import BlobStore

    descriptor = _manifest_descriptor(layout)
    if descriptor.get("digest") != digest:
        raise DeployError(
            f"the image in {layout} changed since the plan ({descriptor.get('digest')}, planned {digest})",
            "run deploy again",
        )
    manifest_bytes = _blob(layout, digest).read_bytes()
    manifest = json.loads(manifest_bytes)
    config_descriptor = Descriptor.from_json(manifest["config"])
    image = ComposedImage(
        manifest_type=str(descriptor["mediaType"]),
        manifest=manifest_bytes,
        digest=digest,
        config=_blob(layout, config_descriptor.digest).read_bytes(),
        config_descriptor=config_descriptor,
        # Every layer is in the layout: to push_image they are all "base" layers to upload.
        base_layers=tuple(Descriptor.from_json(layer) for layer in manifest.get("layers", [])),
        own_layers=(),
    )
    reference = parse_reference(target)
    insecure = {name.strip() for name in os.environ.get("UV_LAMBDA_INSECURE_REGISTRIES", "").split(",")}
    client = RegistryClient(
        reference.registry,
        credentials,
        plain_http=reference.is_loopback or reference.registry in insecure,
    )

    def already_local(digest: str) -> None:
        pass  # the layout holds every layer

    stats = push_image(image, reference, client, BlobStore(layout), base=reference, fetch_base_layer=already_local)
    return stats.bytes_uploaded


def registry_credentials(registry: str) -> Credentials | None:
    """The login for a registry that is not ECR: environment, then Docker's config file."""
    from uv_lambda.image import credentials

    return credentials.from_environment() or credentials.from_docker_config(registry)


def is_ecr(registry: str) -> bool:
    from uv_lambda.image.credentials import ecr_region

    return ecr_region(registry) is not None
