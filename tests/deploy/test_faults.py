"""Throttling, conflicts, server errors and IAM propagation delay: deploy still converges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import APP, RecordingProxy, make_project, write_split_build

FLAGS = ("--no-build", "--yes")
PROPAGATION = "The role defined for the function cannot be assumed by Lambda."


def _layer_versions(clients: Any) -> list[int]:
    versions = clients.lam.list_layer_versions(LayerName="hello-dependencies")["LayerVersions"]
    return sorted(v["Version"] for v in versions)


@pytest.mark.slow
def test_throttling_conflicts_and_5xx_are_retried(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    project = make_project(tmp_path / "p", tool="memory = 256\n")
    write_split_build(project)
    proxy.inject("PublishLayerVersion", 429, "TooManyRequestsException", 2)
    proxy.inject("CreateFunction", 500, "ServiceException", 1)
    proxy.inject("GetFunction", 429, "TooManyRequestsException", 1)

    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 0, result.err
    assert proxy.operations().count("PublishLayerVersion") == 3
    assert _layer_versions(clients) == [1]
    assert clients.lam.get_function(FunctionName="hello")["Configuration"]["MemorySize"] == 256

    # An update racing another one (409) waits and retries.
    write_split_build(project, app=APP.replace("hello", "v2"), dependencies={"mangum/__init__.py": "# v2\n"})
    proxy.reset()
    proxy.inject("UpdateFunctionCode", 409, "ResourceConflictException", 2)
    proxy.inject("UpdateFunctionConfiguration", 409, "ResourceConflictException", 1)
    proxy.inject("PublishLayerVersion", 503, "ServiceException", 1)

    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 0, result.err
    writes = proxy.writes()
    assert writes.count("UpdateFunctionCode") == 3
    assert writes.count("UpdateFunctionConfiguration") == 2
    assert _layer_versions(clients) == [1, 2]
    configuration = clients.lam.get_function(FunctionName="hello")["Configuration"]
    assert configuration["Layers"][0]["Arn"].endswith(":2")

    proxy.reset()
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    assert proxy.writes() == []


@pytest.mark.slow
def test_new_role_not_yet_assumable_is_retried(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    proxy.inject("CreateFunction", 400, "InvalidParameterValueException", 3, message=PROPAGATION)

    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 0, result.err
    assert proxy.operations().count("CreateFunction") == 4
    assert clients.lam.get_function(FunctionName="hello")["Configuration"]["State"] == "Active"


@pytest.mark.slow
def test_interrupted_deploy_converges_without_duplicates(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    # CreateFunction fails for good: the role and the layer exist, the function does not.
    proxy.inject("CreateFunction", 400, "InvalidParameterValueException", 1, message="injected")

    failed = deploy_cli("deploy", project, *FLAGS)

    assert failed.code == 1
    assert "error: lambda:CreateFunction failed: InvalidParameterValueException: injected" in failed.err
    assert "Traceback" not in failed.err
    assert _layer_versions(clients) == [1]

    proxy.reset()
    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 0, result.err
    assert proxy.writes() == ["CreateFunction"]  # role and layer version 1 are reused
    assert _layer_versions(clients) == [1]
    proxy.reset()
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    assert proxy.writes() == []

    # New code and dependencies; the run stops after the layer and the code, before the
    # configuration points the function at the new layer version.
    write_split_build(project, app=APP.replace("hello", "v2"), dependencies={"dep/__init__.py": "N = 2\n"})
    proxy.reset()
    proxy.inject("UpdateFunctionConfiguration", 400, "InvalidParameterValueException", 1, message="injected")
    assert deploy_cli("deploy", project, *FLAGS).code == 1
    assert proxy.writes() == ["PublishLayerVersion", "UpdateFunctionCode", "UpdateFunctionConfiguration"]

    proxy.reset()
    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 0, result.err
    assert proxy.writes() == ["UpdateFunctionConfiguration"]  # layer version 2 and the code are there
    assert _layer_versions(clients) == [1, 2]
    layers = clients.lam.get_function(FunctionName="hello")["Configuration"]["Layers"]
    assert [layer["Arn"].rsplit(":", 1)[1] for layer in layers] == ["2"]


def test_access_denied_names_the_action(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    proxy.inject(
        "CreateRole",
        403,
        "AccessDenied",
        1,
        protocol="query",
        message="User: arn:aws:iam::123456789012:user/ci is not authorized",
    )

    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 1
    lines = result.err.strip().splitlines()
    error = next(line for line in lines if line.startswith("error:"))
    assert error.startswith("error: access denied: iam:CreateRole")
    assert any(line.startswith("hint: allow iam:CreateRole") for line in lines)
    assert "Traceback" not in result.err


@pytest.mark.slow
def test_lost_answers_do_not_duplicate_anything(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    """AWS did the work but the answer was a 500: the retry must find it, not do it again."""
    project = make_project(tmp_path / "p", tool='function-url = { auth = "NONE" }\n')
    write_split_build(project)
    for operation in (
        "PublishLayerVersion",
        "CreateFunction",
        "CreateFunctionUrlConfig",
        "AddPermission",
        "CreateAlias",
    ):
        proxy.inject(operation, 500, "ServiceException", 1, after_forwarding=True)

    result = deploy_cli("deploy", project, *FLAGS, "--alias", "live")

    assert result.code == 0, result.err
    for operation in ("PublishLayerVersion", "CreateFunction", "CreateFunctionUrlConfig"):
        assert proxy.writes().count(operation) == 1, operation  # found by the recheck, not sent twice
    assert proxy.writes().count("AddPermission") == 2  # the two statements, each sent once
    assert _layer_versions(clients) == [1]
    assert clients.lam.get_alias(FunctionName="hello", Name="live")["FunctionVersion"] == "1"
    policy = json.loads(clients.lam.get_policy(FunctionName="hello", Qualifier="live")["Policy"])
    sids = sorted(statement["Sid"] for statement in policy["Statement"])
    assert sids == ["uv-lambda-function-url", "uv-lambda-function-url-invoke"]
    proxy.reset()
    assert deploy_cli("deploy", project, *FLAGS, "--alias", "live").code == 0
    assert proxy.writes() == []
