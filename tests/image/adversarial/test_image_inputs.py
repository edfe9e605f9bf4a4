"""Bad image inputs: `build --push/--output/--base-image` and `invoke/serve --image`. Each is
refused before any work with exit 2, one line and a true hint; nothing is written. An empty
value (an unset variable in CI) is an error, never a build that silently pushes nothing."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from tests.support.local_run import assert_refused, run
from tests.support.projects import write_project

DIGEST = "sha256:" + "a" * 64


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("image") / "p",
        '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.13"\n[tool.uv-lambda]\nhandler = "app.handler"\n',
        {"app.py": "def handler(event, context):\n    return 1\n"},
    )


_BUILD_FLAGS: dict[str, tuple[list[str], str, str]] = {
    "push-empty": (["--push", ""], "--push is empty", "unset"),
    "push-blank": (["--push", "  "], "--push is empty", "unset"),
    "push-digest": (["--push", f"localhost:5000/app@{DIGEST}"], "a digest names an image", "REPOSITORY:TAG"),
    "push-port-99999": (["--push", "localhost:99999/app:1"], "invalid port 99999", "1 to 65535"),
    "push-port-0": (["--push", "localhost:0/app:1"], "invalid port 0", "1 to 65535"),
    "push-port-text": (["--push", "127.0.0.1:abc/app"], "invalid registry '127.0.0.1:abc'", "host[:port]"),
    "push-scheme": (["--push", "http://localhost:5000/app"], "has no scheme", "drop http://"),
    "push-ipv6-unclosed": (["--push", "[::1/app"], "invalid registry '[::1'", "host[:port]"),
    "push-ipv6-bad": (["--push", "[::zz]:5000/app"], "invalid registry '[::zz]:5000'", "host[:port]"),
    "push-uppercase": (["--push", "localhost:5000/App"], "invalid repository 'App'", "registry/repository:tag"),
    "push-bad-tag": (["--push", "localhost:5000/app:-x"], "invalid tag '-x'", "registry/repository:tag"),
    "push-long-label": (["--push", "a" * 64 + ".io/app"], "invalid registry", "host[:port]"),
    "push-too-long": (["--push", "localhost:5000/" + "a" * 260], "longer than 255 characters", "shorter"),
    "output-empty": (["--output", ""], "--output is empty", "unset"),
    "output-kind": (["--output", "tar:image.tar"], "unknown image output 'tar:image.tar'", "oci-layout:DIR"),
    "output-no-path": (["--output", "oci-layout:"], "unknown image output", "oci-layout:DIR"),
    "base-empty": (["--base-image", ""], "--base-image is empty", "unset"),
    "base-bad": (["--base-image", "[::1/python:3.13"], "invalid registry '[::1'", "host[:port]"),
    "base-bad-digest": (["--base-image", "python@sha256:zz"], "invalid digest", "64 hex digits"),
}


@pytest.mark.parametrize("case", sorted(_BUILD_FLAGS))
def test_bad_image_build_flags(tmp_path: Path, project: Path, case: str) -> None:
    flags, needle, hint = _BUILD_FLAGS[case]
    result = run("build", project, "--format", "image", *flags, tmp=tmp_path / "tmp", timeout=60)
    assert_refused(result, 2, needle, hint=hint)
    assert not (project / "dist").exists()


@pytest.mark.parametrize("flag", ["--push", "--output", "--base-image"])
def test_empty_image_flags_on_a_zip_build(tmp_path: Path, project: Path, flag: str) -> None:
    """Even empty, an image flag on a zip build is a mistake to point out, not to ignore."""
    result = run("build", project, flag, "", tmp=tmp_path / "tmp", timeout=60)
    assert_refused(result, 2, "apply to --format image", hint="--format image")
    assert not (project / "dist").exists()


def test_an_existing_file_as_oci_layout(tmp_path: Path, project: Path) -> None:
    target = tmp_path / "not-a-folder"
    target.write_text("keep me\n")
    result = run("build", project, "--format", "image", "--output", f"oci-layout:{target}", tmp=tmp_path / "tmp")
    assert_refused(result, 2, "is not a folder", hint="needs a folder")
    assert target.read_text() == "keep me\n"


_REFERENCES: dict[str, tuple[str, str, str]] = {
    "empty": ("", "invalid image reference ''", "registry/repository:tag"),
    "blank": ("   ", "invalid image reference", "registry/repository:tag"),
    "ipv6-unclosed": ("[::1/app", "invalid registry '[::1'", "host[:port]"),
    "port-99999": ("localhost:99999/app", "invalid port 99999", "1 to 65535"),
    "port-text": ("127.0.0.1:abc/app", "invalid registry", "host[:port]"),
    "scheme": ("https://public.ecr.aws/lambda/python:3.13", "has no scheme", "drop https://"),
    "bad-digest": ("localhost:5000/app@sha256:123", "invalid digest", "64 hex digits"),
    "uppercase": ("localhost:5000/APP", "invalid repository", "registry/repository:tag"),
    "non-ascii": ("localhost:5000/café", "invalid repository", "registry/repository:tag"),
}


@pytest.mark.parametrize("command", ["invoke", "serve"])
@pytest.mark.parametrize("case", sorted(_REFERENCES))
def test_malformed_image_references(tmp_path: Path, command: str, case: str) -> None:
    reference, needle, hint = _REFERENCES[case]
    result = run(command, f"--image={reference}", tmp=tmp_path / "tmp", timeout=60)
    assert_refused(result, 2, needle, hint=hint)


def test_an_image_with_an_artifact(tmp_path: Path) -> None:
    zipped = tmp_path / "code.zip"
    zipped.write_bytes(b"")
    result = run("invoke", "--image", "localhost:5000/app:1", "--artifact", zipped, tmp=tmp_path / "tmp")
    assert_refused(result, 2, "--image cannot be combined with --artifact", hint="the image holds the code")


def test_an_image_on_a_registry_that_is_not_there(tmp_path: Path) -> None:
    """A well-formed reference to a closed loopback port: a failure (exit 1), named, bounded."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    result = run("invoke", "--image", f"127.0.0.1:{port}/app:1", tmp=tmp_path / "tmp", timeout=60)
    assert_refused(result, 1, f"registry 127.0.0.1:{port} is unreachable", hint="check the registry address")
