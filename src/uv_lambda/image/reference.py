"""Image references, `[registry/]repository[:tag][@digest]`, parsed the way Docker reads them;
and the `ImageTarget` an image build takes: its base, where it is pushed, where it is written.

Every image reference uv-lambda reads (--push, --base-image, --image, --image-repository and
`image-repository`) goes through `parse_reference`, once, where it enters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from uv_lambda.errors import UsageError

DOCKER_HUB = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]"}
# A registry is host[:port]: a DNS name or IPv4 address, or an IPv6 address in brackets.
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"  # at most 63, as DNS allows
_REGISTRY = re.compile(rf"^(?:(?P<name>{_LABEL}(?:\.{_LABEL})*)|\[(?P<ipv6>[0-9a-fA-F:.]+)\])(?::(?P<port>[0-9]+))?$")
_MAX_NAME = 255  # registry/repository, as Docker limits it

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
    if "://" in original:
        scheme = original.split("://", 1)[0]
        raise UsageError(f"invalid image reference {text!r}: an image reference has no scheme", f"drop {scheme}://")
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
    else:
        _check_registry(registry, text)
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
    if len(registry) + 1 + len(path) > _MAX_NAME:
        raise UsageError(
            f"image name {registry}/{path[:40]}... is longer than {_MAX_NAME} characters", "use a shorter repository"
        )
    if tag is None and not digest:
        tag = "latest"
    return Reference(registry, path, tag, digest or None)


def _check_registry(registry: str, text: str) -> None:
    """host[:port], the port 1-65535: refused here rather than by the URL library later."""
    match = _REGISTRY.match(registry)
    if match and match["ipv6"]:
        import ipaddress  # only for a bracketed address

        try:
            ipaddress.IPv6Address(match["ipv6"])
        except ValueError:
            match = None
    if not match:
        raise UsageError(
            f"invalid registry {registry!r} in image reference {text!r}",
            "a registry is host[:port], e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com or localhost:5000",
        )
    port = match["port"]
    if port is not None and not 1 <= int(port[:6]) <= 65535:
        raise UsageError(f"invalid port {port} in image reference {text!r}", "a port is 1 to 65535")


def parse_repository(text: str, *, setting: str = "image-repository") -> Reference:
    """A place to push to, REGISTRY/REPOSITORY[:TAG] (tag `latest` by default): the registry
    must be named (a deploy never pushes to Docker Hub by accident) and a digest is refused."""
    if "@" in text:
        raise UsageError(
            f"{setting} {text} names a digest", "set it to REGISTRY/REPOSITORY[:TAG]; deploy pins the digest it builds"
        )
    registry, slash, path = text.partition("/")
    if not slash or not path or not ("." in registry or ":" in registry or registry == "localhost"):
        raise UsageError(
            f"{setting} {text} names no registry",
            "write it as REGISTRY/REPOSITORY, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/api",
        )
    return parse_reference(text)


OutputKind = Literal["oci-layout", "docker-archive"]


@dataclass(frozen=True)
class OutputTarget:
    kind: OutputKind
    path: Path

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}"


def parse_output(spec: str) -> OutputTarget:
    kind, sep, path = spec.partition(":")
    if not sep or not path or kind not in ("oci-layout", "docker-archive"):
        raise UsageError(
            f"unknown image output {spec!r}",
            "use oci-layout:DIR (an OCI image folder) or docker-archive:FILE (a tar for docker load)",
        )
    target = OutputTarget(kind, Path(path).expanduser())  # type: ignore[arg-type]
    if kind == "docker-archive" and target.path.is_dir():
        raise UsageError(f"{target.path} is a folder", "docker-archive: needs a file name, e.g. image.tar")
    if kind == "oci-layout" and target.path.exists():
        if not target.path.is_dir():
            raise UsageError(f"{target.path} is not a folder", "oci-layout: needs a folder")
        if any(target.path.iterdir()) and not (target.path / "oci-layout").is_file():
            raise UsageError(
                f"{target.path} is not empty and not an OCI image folder",
                "pick a new folder: uv-lambda replaces only earlier image folders",
            )
    return target


@dataclass(frozen=True)
class ImageTarget:
    """What an image is built on and where it goes, parsed once (`image_target`)."""

    base: Reference | None = None  # None: the runtime's base image
    push: Reference | None = None  # never a digest
    output: OutputTarget | None = None
    tag: str | None = None  # the image's name inside an output (default: the push reference)
    # The registry whose login UV_LAMBDA_REGISTRY_USERNAME/PASSWORD are (the one pushed to,
    # at once or later by a deploy): a base image there is read with it.
    login_registry: str | None = None


def image_target(
    *, push: str | None = None, output: str | None = None, base_image: str | None = None, tag: str | None = None
) -> ImageTarget:
    """--push, --output and --base-image checked before any work is done.

    An empty value is most often an unset variable (`--push "$IMAGE"` in CI): it is an
    error, not "no push", so a pipeline never succeeds having pushed nothing.
    """
    for flag, value in (("--push", push), ("--output", output), ("--base-image", base_image)):
        if value is not None and not value.strip():
            raise UsageError(
                f"{flag} is empty",
                f"pass a value (is the variable it comes from unset?), or leave {flag} out",
            )
    pushed = parse_reference(push) if push is not None else None
    if pushed is not None and pushed.digest:
        raise UsageError(f"cannot push to {push}: a digest names an image, not a place", "push to REPOSITORY:TAG")
    written = parse_output(output) if output is not None else None
    return ImageTarget(
        base=parse_reference(base_image) if base_image is not None else None,
        push=pushed,
        output=written,
        tag=tag,
        login_registry=pushed.registry if pushed is not None else None,
    )
