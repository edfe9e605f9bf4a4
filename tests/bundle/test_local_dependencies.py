"""Local dependencies of every kind ship non-editable: a vendored wheel, a local sdist, a
folder with any build backend, and an editable path source (real uv, real backends)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.bundle.build_helpers import metadata, names, read
from tests.support.projects import CliRunner, uv_bin, write_project

pytestmark = pytest.mark.slow

BACKENDS = {
    "hatchling": 'requires = ["hatchling==1.27.0"]\nbuild-backend = "hatchling.build"',
    "setuptools": 'requires = ["setuptools==80.9.0"]\nbuild-backend = "setuptools.build_meta"',
    "flit": 'requires = ["flit_core==3.12.0"]\nbuild-backend = "flit_core.buildapi"',
}


def _library(root: Path, name: str, backend: str) -> Path:
    folder = root / name
    package = folder / "src" / name if backend != "flit" else folder / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f'"""{name}."""\n\n__version__ = "1.0"\nNAME = "{name}"\n')
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "1.0"\ndescription = "x"\nrequires-python = ">=3.10"\n\n'
        f"[build-system]\n{BACKENDS[backend]}\n"
    )
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("local")
    vendor = root / "app" / "vendor"
    libraries = root / "libraries"
    for name, backend, kind in [("vendored_wheel", "hatchling", "--wheel"), ("local_sdist", "setuptools", "--sdist")]:
        _library(libraries, name, backend)
        subprocess.run(
            [uv_bin(), "build", "--quiet", kind, "--out-dir", vendor, libraries / name], check=True, capture_output=True
        )
    _library(libraries, "folder_flit", "flit")
    _library(libraries, "editable_lib", "hatchling")
    handler = (
        "import editable_lib, folder_flit, local_sdist, vendored_wheel\n\n"
        "def handler(event, context):\n"
        "    return [m.NAME for m in (editable_lib, folder_flit, local_sdist, vendored_wheel)]\n"
    )
    app = write_project(
        root / "app",
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.12"\n'
        'dependencies = ["vendored-wheel", "local-sdist", "folder-flit", "editable-lib"]\n\n'
        "[tool.uv.sources]\n"
        'vendored-wheel = { path = "vendor/vendored_wheel-1.0-py3-none-any.whl" }\n'
        'local-sdist = { path = "vendor/local_sdist-1.0.tar.gz" }\n'
        'folder-flit = { path = "../libraries/folder_flit" }\n'
        'editable-lib = { path = "../libraries/editable_lib", editable = true }\n\n'
        '[tool.uv-lambda]\nhandler = "main.handler"\n',
        {"main.py": handler},
    )
    return app


def test_every_kind_of_local_dependency_ships_non_editable(cli: CliRunner, project: Path, tmp_path: Path) -> None:
    result = cli("build", project, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    zip_path = tmp_path / "out" / "function.zip"
    entries = names(zip_path)
    for module in ("vendored_wheel", "local_sdist", "folder_flit", "editable_lib"):
        assert f"{module}/__init__.py" in entries, module
        assert f"{module}/__pycache__/__init__.cpython-312.pyc" in entries, module
        assert any(name.startswith(f"{module}-1.0.dist-info/") for name in entries), module
    assert not any(name.endswith(".pth") for name in entries)
    assert not any(name.startswith("vendor/") for name in entries)  # the wheel files are not app files
    assert read(zip_path, "editable_lib/__init__.py").startswith(b'"""editable_lib."""')
    packages = {package["name"]: package["version"] for package in metadata(zip_path)["packages"]}
    for name in ("vendored-wheel", "local-sdist", "folder-flit", "editable-lib"):
        assert packages[name] == "1.0"
