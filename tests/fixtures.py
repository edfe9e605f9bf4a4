"""The fixtures every test folder may use, in one pytest plugin (declared in tests/conftest.py):
the build environment, the real `uv-lambda` command, copies of the examples, interpreters,
the AWS CLI, and a real registry holding a synthetic Lambda base image.

Helpers that are plain functions live in tests/support/; fixtures used by one folder only stay
in that folder's conftest.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support.aws_cli import AwsCli
from tests.support.interpreters import MINORS, find_python, missing_message
from tests.support.projects import EXAMPLES, CliRunner, run_cli
from tests.support.registry import BaseImages, Registry, push_base_images, registry_login, start_registry, stop_registry

PythonFor = Callable[[str], Path]


@pytest.fixture(scope="session", autouse=True)
def build_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    saved = dict(os.environ)
    # uv's discovery trips over pyenv shims; the folders of real interpreters go first on PATH.
    found = [find_python(version) for version in reversed(MINORS)]
    folders = [str(python.parent) for python in found if python is not None]
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), *folders, os.environ.get("PATH", "")])
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"
    os.environ["UV_LAMBDA_CACHE_DIR"] = str(tmp_path_factory.mktemp("uv-lambda-cache"))
    os.environ.pop("VIRTUAL_ENV", None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def cli() -> CliRunner:
    """Run the real `uv-lambda` command in a subprocess."""
    return run_cli


@pytest.fixture
def example(tmp_path: Path) -> Callable[[str], Path]:
    """A fresh copy of a bundled example project, without build output."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("dist", ".venv", "__pycache__"))
        return target

    return copy


@pytest.fixture(scope="session")
def python_for() -> PythonFor:
    """`python_for("3.12")`: the path of a working python3.12, or the test is skipped with
    what to install (searched on PATH, then in uv's, pyenv's and the system's folders)."""

    def find(version: str) -> Path:
        python = find_python(version)
        if python is None:
            pytest.skip(missing_message(version))
        return python

    return find


@pytest.fixture(scope="session")
def aws_cli() -> AwsCli:
    """The AWS CLI on PATH, v1 or v2 (see AwsCli.lambda_invoke for how they differ)."""
    path = shutil.which("aws")
    if path is None:
        pytest.fail("the AWS CLI is not on PATH: install the test extra (pip install -e '.[test]')")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=120, check=True)
    return AwsCli(path, 2 if (version.stdout + version.stderr).startswith("aws-cli/2") else 1)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Debian's docker-registry on 127.0.0.1 with Basic auth (tests/support/registry.py)."""
    running = start_registry(tmp_path_factory.mktemp("registry"))
    yield running
    stop_registry(running)


@pytest.fixture(scope="session")
def base_images(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> BaseImages:
    """The synthetic Lambda base image in `registry`: multi-arch, amd64-only and Docker schema 2."""
    return push_base_images(registry, tmp_path_factory.mktemp("base-layout"))


@pytest.fixture
def registry_credentials(registry: Registry) -> Iterator[None]:
    """The registry's login in UV_LAMBDA_REGISTRY_USERNAME/PASSWORD, as a CI job sets it."""
    with registry_login(registry):
        yield
