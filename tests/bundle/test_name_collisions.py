"""Two owners of one name are refused, naming both, unless `allow-collisions` allows it:
application vs dependency, application vs local package, package vs package."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.bundle.build_helpers import names, read
from tests.support.projects import CliResult, CliRunner, write_project

from uv_lambda.bundle.stage import collisions
from uv_lambda.errors import VerificationError

APP = collisions.APPLICATION


def _error(result: CliResult) -> tuple[str, str]:
    lines = result.stderr.splitlines()
    (error,) = [line.removeprefix("error: ") for line in lines if line.startswith("error:")]
    (hint,) = [line.removeprefix("hint: ") for line in lines if line.startswith("hint:")]
    assert "Traceback" not in result.stderr
    return error, hint


def test_application_module_over_a_dependency_module() -> None:
    with pytest.raises(VerificationError) as error:
        collisions.check_function(
            ["typing_extensions.py", "main.py"],
            {},
            {"typing_extensions.py": [("typing-extensions", True)]},
            [],
            project="app",
        )
    assert error.value.message == "typing_extensions.py is shipped twice: by the application and by typing-extensions"
    assert error.value.hint == (
        "rename the application's typing_extensions.py, or leave it out with exclude, or, if this is intended, "
        'add "typing_extensions.py" to allow-collisions in [tool.uv-lambda] (the application\'s copy wins)'
    )
    collisions.check_function(
        ["typing_extensions.py"],
        {},
        {"typing_extensions.py": [("typing-extensions", True)]},
        ["typing_extensions*"],
        project="app",
    )


def test_dependency_with_its_own_app_package() -> None:
    with pytest.raises(VerificationError, match=r"^app/ is shipped twice: by the application and by helpers$"):
        collisions.check_function(["app/__init__.py", "app/main.py"], {}, {"app": [("helpers", True)]}, [], project="x")


def test_namespace_folders_may_share_a_name_but_no_file() -> None:
    installed = {"google": [("protobuf", False)]}
    collisions.check_function(["google/myapp/handler.py"], {}, installed, [], project="x")
    local = {"company-lib": ["google/lib/__init__.py"], "other": ["google/other/__init__.py"]}
    collisions.check_function([], local, installed, [], project="x")
    with pytest.raises(VerificationError, match=r"^google/lib/x.py is shipped twice"):
        collisions.check_function(["google/lib/x.py"], {"lib": ["google/lib/x.py"]}, {}, [], project="x")


def test_local_package_over_a_dependency() -> None:
    with pytest.raises(VerificationError) as error:
        collisions.check_function([], {"mylib": ["six.py"]}, {"six.py": [("six", True)]}, [], project="x")
    assert error.value.message == "six.py is installed by both six and mylib, with different contents"
    assert error.value.hint == (
        'drop one of them (exclude-packages = ["mylib"]), or, if this is intended, add "six.py" to '
        "allow-collisions in [tool.uv-lambda] (which copy ships is then not defined)"
    )


def test_project_folder_left_to_another_local_package() -> None:
    # The default selection leaves out a name a local package installs; fine for the
    # project's own wheel, a collision for any other package.
    collisions.check_function([], {"myproj": ["app/__init__.py"]}, {}, [], project="myproj", left_to_packages=["app"])
    with pytest.raises(VerificationError, match=r"^app is shipped twice: by the application and by applib$"):
        collisions.check_function(
            [], {"applib": ["app/__init__.py"]}, {}, [], project="myproj", left_to_packages=["app"]
        )


def test_allowed_patterns_match_path_or_top_level_name() -> None:
    assert collisions.allowed("app/main.py", ["app"])
    assert collisions.allowed("jwt/__init__.py", ["jwt/*"])
    assert not collisions.allowed("jwt/__init__.py", ["app"])


SHADOW = """\
[project]
name = "shadow"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = ["typing-extensions==4.12.2"]

[tool.uv-lambda]
handler = "main.handler"
"""


@pytest.mark.slow
def test_local_typing_extensions_is_refused_then_allowed(cli: CliRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "shadow",
        SHADOW,
        {"main.py": "def handler(event, context):\n    return 1\n", "typing_extensions.py": "LOCAL = True\n"},
    )
    result = cli("build", project, "--no-bytecode")
    assert result.returncode == 1, result.stderr
    error, hint = _error(result)
    assert error == "typing_extensions.py is shipped twice: by the application and by typing-extensions"
    assert 'add "typing_extensions.py" to allow-collisions' in hint
    assert not (project / "dist").exists()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'allow-collisions = ["typing_extensions.py"]\n')
    result = cli("build", project, "--no-bytecode")
    assert result.returncode == 0, result.stderr
    zip_path = project / "dist" / "lambda" / "shadow" / "function.zip"
    assert read(zip_path, "typing_extensions.py") == b"LOCAL = True\n"


@pytest.mark.slow
def test_path_dependency_with_its_own_app_package(cli: CliRunner, tmp_path: Path) -> None:
    library = tmp_path / "applib"
    (library / "app").mkdir(parents=True)
    (library / "app" / "__init__.py").write_text("")
    (library / "app" / "util.py").write_text("X = 1\n")
    (library / "pyproject.toml").write_text(
        '[project]\nname = "applib"\nversion = "1.0"\n\n[build-system]\n'
        'requires = ["hatchling==1.27.0"]\nbuild-backend = "hatchling.build"\n\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["app"]\n'
    )
    project = write_project(
        tmp_path / "proj",
        '[project]\nname = "proj"\nversion = "0.1.0"\nrequires-python = ">=3.12"\ndependencies = ["applib"]\n\n'
        '[tool.uv.sources]\napplib = { path = "../applib" }\n\n[tool.uv-lambda]\nhandler = "app.main.handler"\n',
        {"app/__init__.py": "", "app/main.py": "def handler(event, context):\n    return 1\n"},
    )
    result = cli("build", project, "--no-bytecode")
    assert result.returncode == 1, result.stderr
    error, _ = _error(result)
    assert error == "app is shipped twice: by the application and by applib"


def _jwt_project(root: Path, *deps: str) -> Path:
    listed = ", ".join(f'"{dep}"' for dep in deps)
    return write_project(
        root,
        f'[project]\nname = "jwts"\nversion = "0.1.0"\nrequires-python = ">=3.12"\ndependencies = [{listed}]\n\n'
        '[tool.uv]\nexclude-newer = "2025-06-01T00:00:00Z"\n\n[tool.uv-lambda]\nhandler = "main.handler"\n',
        {"main.py": "def handler(event, context):\n    return 1\n"},
    )


@pytest.mark.slow
@pytest.mark.parametrize("installed", ["together", "separately"])
def test_two_dependencies_installing_one_package(cli: CliRunner, tmp_path: Path, installed: str) -> None:
    # PyJWT and jwt both install a top-level `jwt/` package with different files. Installed
    # in one uv call, the later overwrites the earlier (seen in the RECORDs); installed by
    # separate builds, they meet when the cached packages are spliced into one set.
    env = {"UV_LAMBDA_CACHE_DIR": str(tmp_path / "cache")}
    if installed == "separately":
        first = _jwt_project(tmp_path / "first", "PyJWT==2.10.1")
        assert cli("build", first, "--no-bytecode", env=env).returncode == 0
    project = _jwt_project(tmp_path / "jwts", "PyJWT==2.10.1", "jwt==1.3.1")
    result = cli("build", project, "--no-bytecode", env=env)
    assert result.returncode == 1, result.stderr
    error, hint = _error(result)
    assert error.startswith("jwt/") and "is installed by both" in error
    assert "pyjwt" in error and " jwt" in error, error
    assert "allow-collisions" in hint
    copy = tmp_path / "allowed"
    shutil.copytree(project, copy)
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'allow-collisions = ["jwt"]\n')
    result = cli("build", copy, "--no-bytecode", env=env)
    assert result.returncode == 0, result.stderr
    assert "jwt/__init__.py" in names(copy / "dist" / "lambda" / "jwts" / "function.zip")


def test_legacy_namespace_init_files_may_differ() -> None:
    assert collisions.is_namespace_init(
        "backports/__init__.py", b"__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"
    )
    assert collisions.is_namespace_init("zope/__init__.py", b"__import__('pkg_resources').declare_namespace(__name__)")
    assert not collisions.is_namespace_init("jwt/__init__.py", b"from .api_jwt import encode\n")
    assert not collisions.is_namespace_init("extend_path.py", b"extend_path")
