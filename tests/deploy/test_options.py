"""Configured roles, tags, --all, --prune-layers, --env and an unreachable endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import RecordingProxy, make_project, write_split_build

from uv_lambda.cli import main

FLAGS = ("--no-build", "--yes")


def test_configured_role_is_used_and_left_alone(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    arn = clients.iam.create_role(RoleName="mine", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    project = make_project(tmp_path / "p", tool=f'role = "{arn}"\n')
    write_split_build(project)

    assert deploy_cli("deploy", project, *FLAGS).code == 0
    assert proxy.writes() == ["PublishLayerVersion", "CreateFunction"]
    assert clients.lam.get_function(FunctionName="hello")["Configuration"]["Role"] == arn

    assert deploy_cli("destroy", project, "--yes").code == 0
    assert clients.iam.get_role(RoleName="mine")["Role"]["Arn"] == arn


def test_tags_and_environment_converge(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any) -> None:
    project = make_project(tmp_path / "p", tool='tags = { team = "a", cost = "x" }\n')
    write_split_build(project)
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    arn = clients.lam.get_function(FunctionName="hello")["Configuration"]["FunctionArn"]
    assert clients.lam.list_tags(Resource=arn)["Tags"] == {"team": "a", "cost": "x", "uv-lambda:function": "hello"}

    text = (
        (project / "pyproject.toml").read_text().replace('tags = { team = "a", cost = "x" }', 'tags = { team = "b" }')
    )
    (project / "pyproject.toml").write_text(text)
    proxy.reset()
    result = deploy_cli("deploy", project, *FLAGS, "--env", "MODE=fast")

    assert result.code == 0, result.err
    assert proxy.writes() == ["UpdateFunctionConfiguration", "TagResource", "UntagResource"]
    assert clients.lam.list_tags(Resource=arn)["Tags"] == {"team": "b", "uv-lambda:function": "hello"}
    variables = clients.lam.get_function(FunctionName="hello")["Configuration"]["Environment"]["Variables"]
    assert variables == {"MODE": "fast"}
    assert "environment +MODE" in result.err and "fast" not in result.err


def test_function_table_merges_into_the_shared_table(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    project = make_project(
        tmp_path / "p",
        tool='environment = { STAGE = "prod", LOG = "info" }\ntags = { team = "a" }\n'
        '[tool.uv-lambda.functions.hello]\nenvironment = { LOG = "debug" }\ntags = { role = "api" }\n',
    )
    write_split_build(project)
    result = deploy_cli("deploy", project, *FLAGS)
    assert result.code == 0, result.err
    configuration = clients.lam.get_function(FunctionName="hello")["Configuration"]
    assert configuration["Environment"]["Variables"] == {"STAGE": "prod", "LOG": "debug"}
    tags = clients.lam.list_tags(Resource=configuration["FunctionArn"])["Tags"]
    assert tags == {"team": "a", "role": "api", "uv-lambda:function": "hello"}


def test_all_deploys_every_function(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any) -> None:
    project = make_project(
        tmp_path / "p",
        tool="[tool.uv-lambda.functions.api]\nmemory = 256\n[tool.uv-lambda.functions.worker]\ntimeout = 60\n",
    )
    write_split_build(project, "api")
    write_split_build(project, "worker")

    result = deploy_cli("deploy", project, *FLAGS, "--all", "--json")

    assert result.code == 0, result.err
    assert [f["result"]["function"] for f in result.json()["functions"]] == ["api", "worker"]
    assert clients.lam.get_function(FunctionName="api")["Configuration"]["MemorySize"] == 256
    assert clients.lam.get_function(FunctionName="worker")["Configuration"]["Timeout"] == 60


@pytest.mark.slow
def test_prune_layers_keeps_the_newest(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any) -> None:
    project = make_project(tmp_path / "p")
    for n in range(3):
        write_split_build(project, dependencies={"dep/__init__.py": f"N = {n}\n"})
        assert deploy_cli("deploy", project, *FLAGS).code == 0

    proxy.reset()
    assert deploy_cli("deploy", project, *FLAGS, "--prune-layers", "1").code == 0

    assert proxy.writes() == ["DeleteLayerVersion", "DeleteLayerVersion"]
    versions = clients.lam.list_layer_versions(LayerName="hello-dependencies")["LayerVersions"]
    assert [v["Version"] for v in versions] == [3]


def test_unreachable_endpoint_is_one_line(tmp_path: Path, aws_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)

    # Port 9 (discard) on loopback: nothing listens there.
    code = main(["deploy", str(project), *FLAGS, "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1"])

    err = capsys.readouterr().err
    assert code == 1
    assert "error: cannot reach http://127.0.0.1:9" in err
    assert "Traceback" not in err
