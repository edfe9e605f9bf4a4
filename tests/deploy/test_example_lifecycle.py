"""The whole lifecycle on the guide's FastAPI + Mangum app, built for real, deployed to moto."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import RecordingProxy
from tests.support.projects import CliRunner

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi-hello"
NAME = "uv-aws-lambda-example"
FLAGS = ("--format", "split", "--yes")


@pytest.fixture
def example(tmp_path: Path) -> Path:
    project = tmp_path / "fastapi-hello"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist", ".venv", "__pycache__"))
    return project


def _layer_versions(clients: Any) -> list[tuple[int, list[str]]]:
    versions = clients.lam.list_layer_versions(LayerName=f"{NAME}-dependencies")["LayerVersions"]
    return sorted((v["Version"], v.get("CompatibleArchitectures", [])) for v in versions)


@pytest.mark.slow
def test_example_lifecycle(example: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any, cli: CliRunner) -> None:
    # First deploy: role, layer and function.
    first = deploy_cli("deploy", example, *FLAGS)
    assert first.code == 0, first.err
    assert proxy.writes() == ["CreateRole", "AttachRolePolicy", "PublishLayerVersion", "CreateFunction"]
    configuration = clients.lam.get_function(FunctionName=NAME)["Configuration"]
    assert configuration["Handler"] == "app.main.handler"
    assert configuration["Runtime"] == "python3.13"

    # Nothing changed: zero write calls.
    proxy.reset()
    noop = deploy_cli("deploy", example, *FLAGS)
    assert noop.code == 0, noop.err
    assert proxy.writes() == []

    # Application code edited: only the function code.
    main = example / "app" / "main.py"
    main.write_text(main.read_text().replace("Hello, world!", "Hello, deploy!"))
    proxy.reset()
    edited = deploy_cli("deploy", example, *FLAGS)
    assert edited.code == 0 and proxy.writes() == ["UpdateFunctionCode"]
    # Deploy shares build's artifact folder and record: only the application was rebuilt, and
    # a build with the same settings finds the artifact up to date.
    assert "app/main.py changed, the rest reused" in edited.err, edited.err
    built = cli("build", example, "--format", "split")
    assert built.returncode == 0 and "is up to date" in built.stderr, built.stderr

    # A dependency added: a new layer version and a configuration update (Layers).
    pyproject = example / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "mangum",\n', '    "mangum",\n    "six",\n'))
    proxy.reset()
    changed = deploy_cli("deploy", example, *FLAGS, "--lock")
    assert changed.code == 0, changed.err
    assert proxy.writes() == ["PublishLayerVersion", "UpdateFunctionConfiguration"]
    sent = next(c for c in proxy.calls if c.operation == "UpdateFunctionConfiguration")
    assert list(json.loads(sent.body)) == ["Layers"]
    assert [v for v, _ in _layer_versions(clients)] == [1, 2]

    # arm64: a layer built for aarch64 and the code update carrying the new architecture.
    proxy.reset()
    arm = deploy_cli("deploy", example, *FLAGS, "--arch", "arm64")
    assert arm.code == 0, arm.err
    assert proxy.writes() == ["PublishLayerVersion", "UpdateFunctionCode", "UpdateFunctionConfiguration"]
    code_call = next(c for c in proxy.calls if c.operation == "UpdateFunctionCode")
    assert json.loads(code_call.body)["Architectures"] == ["arm64"]
    assert _layer_versions(clients)[-1] == (3, ["arm64"])

    # A Function URL and an alias on a published version.
    pyproject.write_text(pyproject.read_text() + '\n[tool.uv-lambda]\nfunction-url = { auth = "NONE" }\n')
    proxy.reset()
    public = deploy_cli("deploy", example, *FLAGS, "--arch", "arm64", "--alias", "live", "--json")
    assert public.code == 0, public.err
    writes = proxy.writes()
    assert {"CreateFunctionUrlConfig", "AddPermission", "PublishVersion", "CreateAlias"} <= set(writes)
    outcome = public.json()["functions"][0]["result"]
    assert outcome["url"] == clients.lam.get_function_url_config(FunctionName=NAME)["FunctionUrl"]
    assert clients.lam.get_alias(FunctionName=NAME, Name="live")["FunctionVersion"] == outcome["version"]

    # Destroy leaves nothing behind.
    gone = deploy_cli("destroy", example, "--yes")
    assert gone.code == 0, gone.err
    assert clients.lam.list_functions()["Functions"] == []
    assert _layer_versions(clients) == []
    assert all(r["RoleName"] != f"uv-lambda-{NAME}" for r in clients.iam.list_roles()["Roles"])
