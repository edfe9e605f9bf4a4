"""uv_lambda.cdk with the real AWS CDK (aws-cdk-lib from PyPI, jsii on this machine's node).

One CDK app per test run, since starting jsii costs seconds: it synthesizes three stacks (two
copies of the project in different folders, and a copy with an edited handler) with
CDK_DOCKER=false, so any Docker call would fail, and it calls LocalBundling.try_bundle
directly, positionally and with keyword fields, reporting what each left in its folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.iac.iac_tools import installed
from tests.support.projects import ORDERS_HANDLER as HANDLER
from tests.support.projects import ORDERS_PYPROJECT, CliRunner, write_project

pytestmark = pytest.mark.slow

PYPROJECT = ORDERS_PYPROJECT + '\n[tool.uv-lambda]\narchitecture = "arm64"\n'
APP = """\
import json
import sys
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

import uv_lambda.cdk as uv_lambda_cdk

projects, bundles = sys.argv[1:4], Path(sys.argv[4])
app = cdk.App()
for index, project in enumerate(projects):
    stack = cdk.Stack(app, f"Orders{index}")
    lambda_.Function(stack, "Api", **uv_lambda_cdk.function_props(project))
# A split build: the dependencies as a layer, the application as the function's code.
stack = cdk.Stack(app, "Split")
built = uv_lambda_cdk.lambda_build(projects[0], format="split", extra_args=["--out", str(bundles / "split-build")])
layer = lambda_.LayerVersion(stack, "Deps", code=built.layer_code, compatible_runtimes=[built.runtime])
lambda_.Function(stack, "Api", **built.function_props(), layers=[layer])
app.synth()

# The bundler as a caller in Python would use it: the struct, or its fields as keywords.
bundler = uv_lambda_cdk.LocalBundling(uv_lambda_cdk.BuildOptions(projects[0]))
image = cdk.DockerImage.from_registry("unused")
calls = {
    "positional": lambda out: bundler.try_bundle(out, cdk.BundlingOptions(image=image)),
    "keywords": lambda out: bundler.try_bundle(out, image=image, output_type=cdk.BundlingOutput.ARCHIVED),
    "not-archived": lambda out: bundler.try_bundle(out, image=image, output_type=cdk.BundlingOutput.NOT_ARCHIVED),
}
report = {}
for name, call in calls.items():
    out = bundles / name
    out.mkdir(parents=True)
    report[name] = [call(str(out)), sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())]
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def cdk_packages() -> Path:
    # Importable beside uv-lambda by this interpreter; kept out of the test extra (see iac_tools).
    return installed("aws-cdk-lib", ["aws-cdk-lib>=2.150", "constructs>=10"], kind="target")


@pytest.fixture(scope="module")
def synth(cdk_packages: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if shutil.which("node") is None:
        pytest.skip("the CDK's jsii runtime needs node, which is not on PATH")
    root = tmp_path_factory.mktemp("cdk")
    first = write_project(root / "a" / "orders", PYPROJECT, {"app/__init__.py": "", "app/main.py": HANDLER})
    second, edited = root / "b" / "orders", root / "c" / "orders"
    for copy in (second, edited):
        shutil.copytree(first, copy)
    (edited / "app" / "main.py").write_text(HANDLER.replace("'six'", "'version'"))
    (root / "app.py").write_text(APP)
    out = root / "cdk.out"
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(out),
        "CDK_DOCKER": "false",  # the Docker executable the CDK would run: it always fails
        "PYTHONPATH": os.pathsep.join([str(cdk_packages), os.environ.get("PYTHONPATH", "")]),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    completed = subprocess.run(
        [sys.executable, str(root / "app.py"), str(first), str(second), str(edited), str(root / "bundles")],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {"root": root, "out": out, "projects": [first, second, edited], "report": json.loads(completed.stdout)}


def _function(out: Path, stack: str) -> tuple[dict[str, Any], Path]:
    """The Lambda function resource of a synthesized stack, and its code asset's file."""
    template = json.loads((out / f"{stack}.template.json").read_text())
    [function] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    assets = json.loads((out / f"{stack}.assets.json").read_text())["files"]
    return function["Properties"], out / assets[asset_hash]["source"]["path"]


def test_synth_uses_the_uv_lambda_zip_and_its_metadata(synth: dict[str, Any], cli: CliRunner, tmp_path: Path) -> None:
    properties, asset = _function(synth["out"], "Orders0")
    assert (properties["Handler"], properties["Runtime"], properties["Architectures"]) == (
        "app.main.handler",
        "python3.13",
        ["arm64"],
    )
    # Byte for byte what `uv-lambda build` writes for the project, wherever it is built.
    built = cli("build", synth["projects"][0], "--out", tmp_path / "out")
    assert built.returncode == 0, built.stderr
    assert asset.read_bytes() == (tmp_path / "out" / "function.zip").read_bytes()


def test_asset_hash_is_the_same_from_two_folders_and_changes_with_the_code(synth: dict[str, Any]) -> None:
    hashes = [_function(synth["out"], f"Orders{index}")[1].name for index in range(3)]
    assert hashes[0] == hashes[1]
    assert hashes[2] != hashes[0]


def test_split_build_gives_a_layer_and_the_app(synth: dict[str, Any], cli: CliRunner, tmp_path: Path) -> None:
    out = synth["out"]
    properties, asset = _function(out, "Split")
    assert properties["Handler"] == "app.main.handler" and len(properties["Layers"]) == 1
    template = json.loads((out / "Split.template.json").read_text())
    [layer] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assets = json.loads((out / "Split.assets.json").read_text())["files"]
    layer_asset = out / assets[layer["Properties"]["Content"]["S3Key"].removesuffix(".zip")]["source"]["path"]
    built = cli("build", synth["projects"][0], "--format", "split", "--out", tmp_path / "split")
    assert built.returncode == 0, built.stderr
    assert asset.read_bytes() == (tmp_path / "split" / "app.zip").read_bytes()
    assert layer_asset.read_bytes() == (tmp_path / "split" / "layer.zip").read_bytes()


def test_try_bundle_positionally_and_with_keywords(synth: dict[str, Any]) -> None:
    report = synth["report"]
    # ARCHIVED and AUTO_DISCOVER: the archive alone, so the CDK takes it as the asset.
    assert report["positional"] == [True, ["function.zip"]]
    assert report["keywords"] == [True, ["function.zip"]]
    done, files = report["not-archived"]
    assert done and "app/main.py" in files and "six.py" in files and "function.zip.json" not in files
