"""Image references: `[registry/]repository[:tag][@digest]`, parsed the way Docker reads them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from uv_lambda.errors import UsageError

DOCKER_HUB = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]"}

_HINT = "write it as registry/repository:tag, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"


@dataclass(frozen=True)
class Reference:
    registry: str  # host[:port], as the URL needs it
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def identifier(self) -> str:
        """What goes after /manifests/: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def is_loopback(self) -> bool:
        # Like Docker, a registry on this machine is spoken to over plain HTTP.
        return self.registry.rsplit(":", 1)[0] in _LOOPBACK_HOSTS or self.registry.startswith("[::1]")

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, None, digest)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """Parse an image reference; `python:3.13` means Docker Hub's library/python, as in Docker."""
    original = text.strip()
    if not original or any(char.isspace() for char in original):
        raise UsageError(f"invalid image reference {text!r}", _HINT)
    rest, _, digest = original.partition("@")
    if digest and not _DIGEST.match(digest):
        raise UsageError(f"invalid digest in image reference {text!r}", "a digest is sha256:<64 hex digits>")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
    # A tag is the part after the last ':' that comes after the last '/'.
    tag: str | None = None
    if ":" in path.rsplit("/", 1)[-1]:
        path, tag = path.rsplit(":", 1)
        if not _TAG.match(tag):
            raise UsageError(f"invalid tag {tag!r} in image reference {text!r}", _HINT)
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not _REPOSITORY.match(path):
        raise UsageError(f"invalid repository {path!r} in image reference {text!r}", _HINT)
    if tag is None and not digest:
        tag = "latest"
    return Reference(registry, path, tag, digest or None)
