"""Deploy -> no-op -> code edit -> dependency change -> arm64 -> URL + alias -> destroy, on moto.

Artifacts are written by hand (zip + metadata, as a build writes them) so that these tests
exercise deploy alone; test_example_lifecycle.py does the same with a real build.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import APP, RecordingProxy, make_project, write_split_build, write_zip_build

FLAGS = ("--no-build", "--yes")


def _function(clients: Any, name: str = "hello") -> dict[str, Any]:
    return clients.lam.get_function(FunctionName=name)  # type: ignore[no-any-return]


def test_first_deploy_creates_role_layer_and_function(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    project = make_project(tmp_path / "p", tool='memory = 256\nenvironment = { STAGE = "test" }\n')
    write_split_build(project)

    result = deploy_cli("deploy", project, *FLAGS, "--json")

    assert result.code == 0, result.err
    assert proxy.writes() == ["CreateRole", "AttachRolePolicy", "PublishLayerVersion", "CreateFunction"]
    document = result.json()["functions"][0]
    kinds = {(step["resource"], step["kind"]) for step in document["plan"]["steps"]}
    assert kinds == {("role", "create"), ("layer", "create"), ("function", "create")}
    function = _function(clients)["Configuration"]
    assert function["MemorySize"] == 256
    assert function["Environment"]["Variables"] == {"STAGE": "test"}
    assert function["Handler"] == "app.handler"
    layer_arn = function["Layers"][0]["Arn"]
    assert layer_arn.endswith(":layer:hello-dependencies:1")
    role = clients.iam.get_role(RoleName="uv-lambda-hello")["Role"]
    assert function["Role"] == role["Arn"]
    attached = clients.iam.list_attached_role_policies(RoleName="uv-lambda-hello")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWSLambdaBasicExecutionRole"]
    assert document["result"]["function_arn"] == function["FunctionArn"]
    assert document["result"]["bytes_uploaded"] > 0


@pytest.mark.slow
def test_lifecycle_changes_only_what_differs(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    assert deploy_cli("deploy", project, *FLAGS).code == 0

    # Nothing changed: reads only, and the plan says why each thing is unchanged.
    proxy.reset()
    result = deploy_cli("deploy", project, *FLAGS)
    assert result.code == 0, result.err
    assert proxy.writes() == []
    assert "nothing to change" in result.err
    assert "version 1 holds the same content" in result.err

    # Application code edited: only the function code is uploaded.
    write_split_build(project, app=APP.replace("hello", "hello again"))
    proxy.reset()
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    assert proxy.writes() == ["UpdateFunctionCode"]

    # A dependency changed: a new layer version and a configuration update (Layers only).
    write_split_build(
        project, app=APP.replace("hello", "hello again"), dependencies={"mangum/__init__.py": "VERSION = '0.20'\n"}
    )
    proxy.reset()
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    assert proxy.writes() == ["PublishLayerVersion", "UpdateFunctionConfiguration"]
    sent = next(c for c in proxy.calls if c.operation == "UpdateFunctionConfiguration")
    assert list(json.loads(sent.body)) == ["Layers"]
    layers = _function(clients)["Configuration"]["Layers"]
    assert [layer["Arn"].rsplit(":", 1)[1] for layer in layers] == ["2"]

    # Memory changed in the config: one configuration update carrying only MemorySize.
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + "memory = 512\n")
    proxy.reset()
    result = deploy_cli("deploy", project, *FLAGS)
    assert proxy.writes() == ["UpdateFunctionConfiguration"]
    assert "memory 128 -> 512" in result.err
    sent = next(c for c in proxy.calls if c.operation == "UpdateFunctionConfiguration")
    assert json.loads(sent.body) == {"MemorySize": 512}

    # Going back to the first dependency set reuses layer version 1: nothing is published.
    write_split_build(project, app=APP.replace("hello", "hello again"))
    proxy.reset()
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    assert proxy.writes() == ["UpdateFunctionConfiguration"]
    versions = clients.lam.list_layer_versions(LayerName="hello-dependencies")["LayerVersions"]
    assert sorted(v["Version"] for v in versions) == [1, 2]


@pytest.mark.slow
def test_arm64_switch_sends_the_architecture_with_the_code(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    assert deploy_cli("deploy", project, *FLAGS).code == 0

    write_split_build(project, architecture="arm64", dependencies={"mangum/__init__.py": "# arm64 build\n"})
    proxy.reset()
    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 0, result.err
    assert proxy.writes() == ["PublishLayerVersion", "UpdateFunctionCode", "UpdateFunctionConfiguration"]
    assert "architecture x86_64 -> arm64" in result.err
    code_call = next(c for c in proxy.calls if c.operation == "UpdateFunctionCode")
    assert json.loads(code_call.body)["Architectures"] == ["arm64"]
    layer = clients.lam.list_layer_versions(LayerName="hello-dependencies")["LayerVersions"][0]
    assert layer["CompatibleArchitectures"] == ["arm64"]


@pytest.mark.slow
def test_function_url_and_alias(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any) -> None:
    project = make_project(
        tmp_path / "p",
        tool='function-url = { auth = "NONE", cors = { allow-origins = ["https://example.com"] } }\n',
    )
    write_split_build(project)

    result = deploy_cli("deploy", project, *FLAGS, "--alias", "live", "--json")

    assert result.code == 0, result.err
    outcome = result.json()["functions"][0]["result"]
    url = clients.lam.get_function_url_config(FunctionName="hello")
    assert url["AuthType"] == "NONE"
    assert url["Cors"]["AllowOrigins"] == ["https://example.com"]
    assert outcome["url"] == url["FunctionUrl"]
    alias = clients.lam.get_alias(FunctionName="hello", Name="live")
    assert alias["FunctionVersion"] == outcome["version"] == "1"
    # Both statements AWS needs for a public URL since October 2025, on the alias the URL serves.
    policy = json.loads(clients.lam.get_policy(FunctionName="hello", Qualifier="live")["Policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert sorted(statements) == ["uv-lambda-function-url", "uv-lambda-function-url-invoke"]
    sent = [json.loads(c.body) for c in proxy.calls if c.operation == "AddPermission"]
    assert sorted(sent, key=lambda body: body["StatementId"]) == [
        {
            "StatementId": "uv-lambda-function-url",
            "Action": "lambda:InvokeFunctionUrl",
            "Principal": "*",
            "FunctionUrlAuthType": "NONE",
        },
        {
            "StatementId": "uv-lambda-function-url-invoke",
            "Action": "lambda:InvokeFunction",
            "Principal": "*",
            "InvokedViaFunctionUrl": True,
        },
    ]
    qualified = [c.path for c in proxy.calls if c.operation in ("AddPermission", "CreateFunctionUrlConfig")]
    assert len(qualified) == 3 and all(path.endswith("?Qualifier=live") for path in qualified)
    # The URL is created after the alias it serves.
    writes = proxy.writes()
    assert writes.index("CreateAlias") < writes.index("CreateFunctionUrlConfig")

    # Again with nothing changed: no new version, the alias and URL are left as they are.
    proxy.reset()
    result = deploy_cli("deploy", project, *FLAGS, "--alias", "live", "--json")
    assert proxy.writes() == []
    assert result.json()["functions"][0]["result"]["version"] == "1"

    # A code change: new version, alias moved to it.
    write_split_build(project, app=APP.replace("hello", "v2"))
    proxy.reset()
    assert deploy_cli("deploy", project, *FLAGS, "--alias", "live").code == 0
    assert proxy.writes() == ["UpdateFunctionCode", "PublishVersion", "UpdateAlias"]
    assert clients.lam.get_alias(FunctionName="hello", Name="live")["FunctionVersion"] == "2"


def test_plan_flag_makes_no_write_call(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)

    result = deploy_cli("deploy", project, "--no-build", "--plan")

    assert result.code == 0, result.err
    assert proxy.writes() == []
    assert proxy.operations()  # it did read
    assert "create" in result.err and "3 changes to apply" in result.err


def test_zip_format_has_no_layer(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any) -> None:
    project = make_project(tmp_path / "p")
    write_zip_build(project)

    assert deploy_cli("deploy", project, *FLAGS).code == 0

    assert proxy.writes() == ["CreateRole", "AttachRolePolicy", "CreateFunction"]
    assert _function(clients)["Configuration"].get("Layers", []) == []


@pytest.mark.slow
def test_destroy_leaves_nothing(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any) -> None:
    project = make_project(tmp_path / "p", tool='function-url = { auth = "AWS_IAM" }\n')
    write_split_build(project)
    assert deploy_cli("deploy", project, *FLAGS, "--alias", "live").code == 0
    write_split_build(project, dependencies={"other/__init__.py": ""})
    assert deploy_cli("deploy", project, *FLAGS, "--alias", "live").code == 0

    proxy.reset()
    planned = deploy_cli("destroy", project, "--plan")
    assert planned.code == 0 and proxy.writes() == []
    result = deploy_cli("destroy", project, "--yes")

    assert result.code == 0, result.err
    assert clients.lam.list_functions()["Functions"] == []
    assert clients.lam.list_layer_versions(LayerName="hello-dependencies")["LayerVersions"] == []
    roles = [r["RoleName"] for r in clients.iam.list_roles()["Roles"]]
    assert "uv-lambda-hello" not in roles
    # Destroying what is gone is a no-op.
    proxy.reset()
    assert deploy_cli("destroy", project, "--yes").code == 0
    assert proxy.writes() == []


def test_destroy_without_yes_off_a_terminal_refuses(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    proxy.reset()

    result = deploy_cli("destroy", project)

    assert result.code == 2
    assert "pass --yes" in result.err
    assert proxy.writes() == []


class TerminalInput(io.StringIO):
    """Typed answers on a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_is_asked_before_changes(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)

    monkeypatch.setattr(sys, "stdin", TerminalInput("n\n"))
    declined = deploy_cli("deploy", project, "--no-build", "--json")
    assert declined.code == 2
    assert "apply to hello? [y/N]" in declined.err and "create  function  hello" in declined.err
    assert declined.out == "" and proxy.writes() == []

    monkeypatch.setattr(sys, "stdin", TerminalInput("y\n"))
    accepted = deploy_cli("deploy", project, "--no-build")
    assert accepted.code == 0, accepted.err
    assert "CreateFunction" in proxy.writes()

    # Nothing to change: nothing to ask.
    monkeypatch.setattr(sys, "stdin", TerminalInput(""))
    again = deploy_cli("deploy", project, "--no-build")
    assert again.code == 0 and "[y/N]" not in again.err


def test_destroy_asks_through_the_same_plan_loop(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """destroy applies its plan with deploy's loop (app/deploy.py: apply_plans), in its own words."""
    project = make_project(tmp_path / "p")
    write_split_build(project)
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    proxy.reset()

    monkeypatch.setattr(sys, "stdin", TerminalInput("n\n"))
    declined = deploy_cli("destroy", project, "--json")
    assert declined.code == 2
    # --json keeps the plan off stdout: it is shown on stderr before the question.
    assert re.search(r"- delete\s+function\s+hello", declined.err)
    assert re.search(r"remove \d+ resource\(s\) of hello\? \[y/N\]", declined.err)
    assert "error: destroy cancelled; nothing was removed" in declined.err
    assert declined.out == "" and proxy.writes() == []

    monkeypatch.setattr(sys, "stdin", TerminalInput("y\n"))
    accepted = deploy_cli("destroy", project)
    assert accepted.code == 0, accepted.err
    assert "DeleteFunction" in proxy.writes()


def test_deploy_reaches_the_executor_through_four_modules(
    tmp_path: Path, deploy_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path from main() to the executor, as docs/architecture.md draws it."""
    import traceback

    from uv_lambda.deploy import executor

    source = Path(executor.__file__).resolve().parents[1]
    seen: list[str] = []
    execute = executor.execute

    def recording_execute(*args: Any, **kwargs: Any) -> Any:
        frames = [Path(frame.filename) for frame in traceback.extract_stack()]
        for path in frames:
            name = path.resolve().relative_to(source).as_posix() if path.resolve().is_relative_to(source) else None
            if name is not None and name not in seen:
                seen.append(name)
        return execute(*args, **kwargs)

    monkeypatch.setattr(executor, "execute", recording_execute)
    project = make_project(tmp_path / "p")
    write_split_build(project)
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    assert seen == ["cli/__init__.py", "cli/deploy.py", "app/deploy.py"]  # then deploy/executor.py
