"""What deploy refuses before any AWS call, and the one-line errors users see."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import RecordingProxy, make_project, write_artifact, write_split_build, write_zip, write_zip_build

from uv_lambda.cli import main

FLAGS = ("--no-build", "--yes")


def test_bytes_that_are_not_a_zip_are_refused(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    project = make_project(tmp_path / "p")
    folder = write_zip_build(project)
    (folder / "function.zip").write_bytes(b"this is not a zip archive")

    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 1
    assert "is not a zip file" in result.err
    assert proxy.operations() == []


@pytest.mark.slow
def test_over_250_mb_unzipped_is_refused(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    project = make_project(tmp_path / "p")
    folder = project / "dist" / "lambda" / "hello"
    site = "python/lib/python3.13/site-packages"
    # Zeros compress to almost nothing: a small zip that unzips to 200 + 60 MB.
    write_zip(folder / "layer.zip", {f"{site}/big.bin": bytes(200 * 2**20)})
    write_zip(folder / "app.zip", {"app.py": "x = 1\n", "data.bin": bytes(60 * 2**20)})
    write_artifact(folder / "layer.zip", function="hello", format="split", role="layer", handler=None)
    write_artifact(folder / "app.zip", function="hello", format="split", role="app", handler="app.handler")

    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 1
    assert "unzipped" in result.err and "Lambda allows" in result.err
    assert proxy.operations() == []


def test_too_many_layers_and_environment_are_refused(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    arns = ", ".join(f'"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1"' for i in range(5))
    project = make_project(tmp_path / "p", tool=f"layers = [{arns}]\n")
    write_split_build(project)

    result = deploy_cli("deploy", project, *FLAGS)
    assert result.code == 2
    assert "6 layers" in result.err

    project = make_project(tmp_path / "q")
    write_split_build(project)
    result = deploy_cli("deploy", project, *FLAGS, "--env", "BIG=" + "x" * 5000)
    assert result.code == 2
    assert "environment variables take" in result.err
    assert proxy.operations() == []


def test_bad_function_url_config_is_refused(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    project = make_project(tmp_path / "p", tool='function-url = { auth = "PUBLIC" }\n')
    write_split_build(project)

    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 2
    assert 'auth must be "NONE" or "AWS_IAM"' in result.err
    assert proxy.operations() == []


def test_missing_credentials_is_one_line(tmp_path: Path, deploy_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    # No instance metadata lookups to a link-local address from tests.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 1
    assert "error: no usable AWS credentials found" in result.err
    assert "hint:" in result.err and "Traceback" not in result.err


def test_missing_region_is_one_line(
    tmp_path: Path, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert "AWS_REGION" not in os.environ

    code = main(["deploy", str(project), *FLAGS, "--endpoint-url", proxy.url])

    err = capsys.readouterr().err
    assert code == 2
    assert "error: no AWS region set" in err and "--region" in err
    assert proxy.operations() == []


def test_unknown_profile_is_one_line(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)

    result = deploy_cli("deploy", project, *FLAGS, "--profile", "nope")

    assert result.code == 2
    assert "AWS profile 'nope' not found" in result.err


def test_existing_image_function_is_refused(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    role = clients.iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    clients.lam.create_function(
        FunctionName="hello",
        Role=role,
        PackageType="Image",
        Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello:latest"},
    )
    project = make_project(tmp_path / "p")
    write_split_build(project)

    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 1
    assert "exists with package type Image, not Zip" in result.err
    assert proxy.writes() == []
