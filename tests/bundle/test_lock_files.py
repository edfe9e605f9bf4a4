"""The dependencies are installed from the lock's own wheel files, by URL (lock_files.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from tests.bundle.build_helpers import names
from tests.support.projects import CliRunner

from uv_lambda.bundle.export import lock_files

WHEEL = "https://files.example/packages/ab/six-1.17.0-py2.py3-none-any.whl"
DIGEST = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
SIX = {
    "name": "six",
    "version": "1.17.0",
    "source": {"registry": "https://pypi.org/simple"},
    "sdist": {"url": "https://files.example/six-1.17.0.tar.gz", "hash": "sha256:ff", "size": 34031},
    "wheels": [{"url": WHEEL, "hash": f"sha256:{DIGEST}", "size": 11050}],
}


def test_a_registry_package_becomes_a_pylock_table() -> None:
    text = lock_files.pylock_text([lock_files.package_block(SIX) or ""])
    document = tomllib.loads(text)
    assert document["lock-version"] == "1.0"
    (package,) = document["packages"]
    assert package == {
        "name": "six",
        "version": "1.17.0",
        "index": "https://pypi.org/simple",
        "wheels": [{"url": WHEEL, "size": 11050, "hashes": {"sha256": DIGEST}}],
    }


def test_strings_are_escaped() -> None:
    odd = {**SIX, "source": {"registry": 'https://example.com/"quoted"\\index'}}
    (package,) = tomllib.loads(lock_files.pylock_text([lock_files.package_block(odd) or ""]))["packages"]
    assert package["index"] == 'https://example.com/"quoted"\\index'


@pytest.mark.parametrize(
    "package",
    [
        pytest.param({**SIX, "wheels": []}, id="no-wheels"),
        pytest.param({**SIX, "source": {"git": "https://github.com/x/six"}}, id="git"),
        pytest.param({**SIX, "source": {"url": "https://example.com/six.whl"}}, id="direct-url"),
        pytest.param({**SIX, "wheels": [{"path": "wheels/six.whl", "hash": "sha256:ab"}]}, id="find-links-path"),
        pytest.param({**SIX, "wheels": [{"url": WHEEL}]}, id="no-hash"),
    ],
)
def test_what_the_index_installs_instead(package: dict[str, object]) -> None:
    assert lock_files.package_block(package) is None
    assert lock_files.blocks_by_pin([package]) == {}


def test_blocks_are_keyed_by_normalised_pin() -> None:
    assert list(lock_files.blocks_by_pin([{**SIX, "name": "Six_Package"}])) == ["six-package==1.17.0"]


@pytest.mark.slow
def test_a_build_asks_no_index_for_cached_wheels(cli: CliRunner, example, tmp_path: Path) -> None:
    """With uv's cache holding the wheels, a first build (empty uv-lambda cache) needs no
    network: every HTTP request goes to a dead proxy here. From a requirements.txt, uv
    would ask the index for each package's page again and fail after its retries."""
    project = example("fastapi-hello")
    warm = cli("build", project, "--no-bytecode")
    assert warm.returncode == 0, warm.stderr
    dead = "http://127.0.0.1:9"
    offline = cli(
        "build",
        project,
        "--no-bytecode",
        "--out",
        tmp_path / "out",
        env={
            "UV_LAMBDA_CACHE_DIR": str(tmp_path / "fresh-cache"),
            "HTTPS_PROXY": dead,
            "HTTP_PROXY": dead,
            "ALL_PROXY": dead,
            "NO_PROXY": "",
            "UV_HTTP_RETRIES": "0",
        },
    )
    assert offline.returncode == 0, offline.stderr
    assert (tmp_path / "out" / "function.zip").read_bytes() == (
        project / "dist" / "lambda" / "uv-aws-lambda-example" / "function.zip"
    ).read_bytes()
    assert "pydantic_core/__init__.py" in names(tmp_path / "out" / "function.zip")
