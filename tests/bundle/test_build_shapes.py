"""Project shapes: packaged projects, virtual workspace roots, namespace app/, handler
discovery and source encodings, and reproducible bytecode on every runtime."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from tests.bundle.build_helpers import artifact, metadata, names, read
from tests.fixtures import PythonFor
from tests.support.interpreters import MINORS
from tests.support.projects import CliRunner, write_project

pytestmark = pytest.mark.slow

PACKAGED = """\
[project]
name = "orders"
version = "0.2.0"
requires-python = ">=3.12"
dependencies = []

[build-system]
requires = ["uv_build>=0.8,<0.14"]
build-backend = "uv_build"
"""


def test_packaged_src_project_ships_its_wheel_and_the_root_handler_module(cli: CliRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "orders",
        PACKAGED,
        {
            "src/orders/__init__.py": "def total(items):\n    return sum(items)\n",
            "main.py": "from orders import total\n\ndef handler(event, context):\n    return total(event['items'])\n",
            "data/prices.csv": "a,1\n",
            "tests/test_orders.py": "def test(): pass\n",
        },
    )
    result = cli("build", project)
    assert result.returncode == 0, result.stderr
    entries = names(artifact(project))
    assert "main.py" in entries and "orders/__init__.py" in entries and "orders-0.2.0.dist-info/RECORD" in entries
    assert not any(name.startswith(("src/", "tests/", "data/")) for name in entries)
    assert metadata(artifact(project))["handler"] == "main.handler"
    assert "application: orders (built), main.py; not shipped: data/, tests/" in result.stderr


@pytest.mark.parametrize("package", [False, True])
def test_tool_uv_package_decides_whether_the_project_is_built(cli: CliRunner, tmp_path: Path, package: bool) -> None:
    """uv's rule, not the [build-system] table alone: `[tool.uv] package = false` makes a
    project with a build system virtual (its src/ ships nothing, and the summary says so),
    `package = true` builds one without it."""
    pyproject = PACKAGED if not package else PACKAGED.split("[build-system]")[0]
    project = write_project(
        tmp_path / "orders",
        pyproject + f"\n[tool.uv]\npackage = {str(package).lower()}\n",
        {
            "src/orders/__init__.py": "def total(items):\n    return sum(items)\n",
            "main.py": "def handler(event, context):\n    return 1\n",
        },
    )
    result = cli("build", project)
    assert result.returncode == 0, result.stderr
    entries = names(artifact(project))
    packages = {entry["name"]: entry["source"] for entry in metadata(artifact(project))["packages"]}
    if package:
        assert "orders/__init__.py" in entries and packages["orders"] == "workspace"
        assert "application: orders (built), main.py" in result.stderr and "src/" not in result.stderr
    else:
        assert not any(name.startswith("orders") for name in entries) and packages["orders"] == "project"
        assert "application: main.py; not shipped: src/" in result.stderr


def test_explicit_include_without_the_handler_names_the_include(cli: CliRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "svc",
        '[project]\nname = "svc"\nversion = "0"\nrequires-python = ">=3.13"\n\n'
        '[tool.uv-lambda]\nhandler = "service.api.handler"\ninclude = ["lib"]\n',
        {
            "lib/__init__.py": "",
            "service/api.py": "def handler(event, context):\n    return 1\n",
        },
    )
    result = cli("build", project)
    assert result.returncode == 2, result.stderr
    assert "handler module 'service.api' is in the project (service) but not in the artifact" in result.stderr
    assert 'include = ["lib", "service"]' in result.stderr and "Traceback" not in result.stderr


def test_namespace_app_and_latin1_sources_are_shipped_and_read_as_python_does(cli: CliRunner, tmp_path: Path) -> None:
    project = tmp_path / "ns"
    write_project(project, '[project]\nname = "ns"\nversion = "0"\nrequires-python = ">=3.13"\n')
    (project / "app").mkdir()
    (project / "app" / "main.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nGREETING = '\xe9t\xe9'\n\ndef handler(event, context):\n    return GREETING\n"
    )
    (project / "templates").mkdir()
    (project / "templates" / "page.html").write_text("<p>hi</p>\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli("build", project, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert {"app/main.py", "app/__pycache__/main.cpython-313.pyc"} <= set(names(artifact(project)))
    assert metadata(artifact(project))["handler"] == "app.main.handler"
    assert "not shipped: templates/" in result.stderr
    event = elsewhere / "event.json"
    event.write_text("{}")
    invoked = cli("invoke", project, "--event", event, cwd=elsewhere)
    assert invoked.returncode == 0, invoked.stderr
    assert "été" in invoked.stdout


VIRTUAL_ROOT = '[tool.uv.workspace]\nmembers = ["functions/*", "libs/*"]\n'
SHARED = (
    '[project]\nname = "shared"\nversion = "1.0.0"\nrequires-python = ">=3.12"\ndependencies = ["idna==3.10"]\n\n'
    '[build-system]\nrequires = ["uv_build>=0.8,<0.14"]\nbuild-backend = "uv_build"\n'
)


def _member(name: str, packaged: bool) -> str:
    text = (
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.12"\ndependencies = ["shared"]\n\n'
        "[tool.uv.sources]\nshared = { workspace = true }\n"
    )
    if packaged:
        text += '\n[build-system]\nrequires = ["uv_build>=0.8,<0.14"]\nbuild-backend = "uv_build"\n'
    return text


@pytest.fixture(scope="module")
def virtual_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("virtual") / "mono"
    return write_project(
        root,
        VIRTUAL_ROOT,
        {
            "libs/shared/pyproject.toml": SHARED,
            "libs/shared/src/shared/__init__.py": "import idna\n\n"
            "def label(name):\n    return idna.encode(name).decode()\n",
            "functions/api/pyproject.toml": _member("api", packaged=False),
            "functions/api/main.py": "from shared import label\n\n"
            "def handler(event, context):\n    return label('api')\n",
            "functions/worker/pyproject.toml": _member("worker", packaged=True),
            "functions/worker/src/worker/__init__.py": "",
            "functions/worker/src/worker/handler.py": "from shared import label\n\n"
            "def handler(event, context):\n    return label('worker')\n",
        },
    )


def test_virtual_root_member_built_from_its_folder(cli: CliRunner, virtual_workspace: Path) -> None:
    api = virtual_workspace / "functions" / "api"
    result = cli("build", api)
    assert result.returncode == 0, result.stderr
    entries = names(artifact(api))
    assert {"main.py", "shared/__init__.py", "idna/__init__.py"} <= set(entries)
    assert metadata(artifact(api))["handler"] == "main.handler"
    event = virtual_workspace / "event.json"
    event.write_text("{}")
    invoked = cli("invoke", api, "--event", event)
    assert invoked.returncode == 0, invoked.stderr
    assert '"api"' in invoked.stdout
    # The lock stays at the root; nothing but the build output is written into the member.
    assert sorted(path.name for path in api.iterdir()) == ["dist", "main.py", "pyproject.toml"]


def test_virtual_root_packaged_member_with_package_option(cli: CliRunner, virtual_workspace: Path) -> None:
    refused = cli("build", virtual_workspace)
    assert refused.returncode == 2
    assert "virtual workspace root" in refused.stderr and "--package" in refused.stderr
    assert "api, shared, worker" in refused.stderr
    result = cli("build", virtual_workspace, "--package", "worker", "--handler", "worker.handler.handler")
    assert result.returncode == 0, result.stderr
    entries = names(artifact(virtual_workspace))
    assert {"worker/handler.py", "shared/__init__.py", "idna/__init__.py"} <= set(entries)
    assert not (virtual_workspace / "functions" / "worker" / "uv.lock").exists()


@pytest.mark.parametrize("version", MINORS, ids=lambda version: f"python{version}")
def test_byte_identical_artifacts_across_cache_folders(
    cli: CliRunner, tmp_path: Path, version: str, python_for: PythonFor
) -> None:
    """Frozenset constants (`x in {...}`) in app and dependency code: python3.10's marshal
    writes them in hash order, so only a fixed hash seed makes the pycs reproducible."""
    python_for(version)  # the build compiles bytecode with it
    runtime = f"python{version}"
    source = "KINDS = None\n\ndef handler(event, context):\n    return event.get('kind') in {'a', 'b', 'c', 'd', 'e'}\n"
    digests = []
    for run in ("one", "two"):
        project = write_project(
            tmp_path / run / "repro",
            '[project]\nname = "repro"\nversion = "0"\nrequires-python = ">=3.10"\ndependencies = ["idna==3.10"]\n',
            {"main.py": source},
        )
        cache = tmp_path / run / "cache"
        result = cli("build", project, "--runtime", runtime, env={"UV_LAMBDA_CACHE_DIR": str(cache)})
        assert result.returncode == 0, result.stderr
        zip_path = artifact(project)
        digests.append(hashlib.sha256(zip_path.read_bytes()).hexdigest())
        assert read(zip_path, f"__pycache__/main.cpython-{runtime[6:].replace('.', '')}.pyc")
    assert digests[0] == digests[1]
