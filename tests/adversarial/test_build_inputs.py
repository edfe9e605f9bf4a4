"""Careless project input to `uv-lambda build`: locks, pyproject.toml, handlers, flags, paths.

Every case starts from a copy of one project built once, and breaks one thing. Each is
refused with the right exit code, one `error:` line, a hint whose advice is true, and no
traceback; the previous artifact stays byte for byte as it was, and nothing new is left in
the project (no scratch in dist/, no stray files) or in the command's TMPDIR.
(File selection, caches and wrong configuration types have suites of their own.)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from local_run_helpers import assert_refused, run
from tests.conftest import write_project

from uv_lambda.uv import find_uv

PYPROJECT = (
    '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.13"\ndependencies = []\n'
    '[tool.uv-lambda]\nhandler = "app.handler"\n'
)
APP = "def handler(event, context):\n    return {'ok': True}\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project, locked and built once for the whole module."""
    project = write_project(tmp_path_factory.mktemp("build-inputs") / "p", PYPROJECT, {"app.py": APP})
    result = run("build", project, tmp=tmp_path_factory.mktemp("tmp"))
    assert result.returncode == 0, result.stderr
    return project


def snapshot(project: Path) -> dict[str, bytes]:
    """Every file under the project, by relative path, with its bytes."""
    return {str(path.relative_to(project)): path.read_bytes() for path in sorted(project.rglob("*")) if path.is_file()}


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "p"
    shutil.copytree(built, copy)
    return copy


def attempt(project: Path, tmp_path: Path, *args: str | Path, code: int, needle: str, hint: str) -> None:
    """`uv-lambda build PROJECT ARGS` is refused as promised, and changes nothing on disk."""
    before = snapshot(project)
    assert any(name.startswith("dist/lambda/p/function.zip") for name in before)
    result = run("build", *(args or (project,)), tmp=tmp_path / "tmp", timeout=180)
    assert_refused(result, code, needle, hint=hint)
    assert snapshot(project) == before


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new))


# --- the lock ---------------------------------------------------------------------------------


def test_no_lock(project: Path, tmp_path: Path) -> None:
    (project / "uv.lock").unlink()
    attempt(project, tmp_path, code=2, needle="uv.lock does not exist", hint="run `uv lock`")


def test_a_stale_lock(project: Path, tmp_path: Path) -> None:
    edit(project / "pyproject.toml", "dependencies = []", 'dependencies = ["idna"]')
    attempt(project, tmp_path, code=2, needle="uv.lock is out of date with pyproject.toml", hint="run `uv lock`")


def test_a_lock_from_a_newer_uv(project: Path, tmp_path: Path) -> None:
    edit(project / "uv.lock", "version = 1\n", "version = 99\n")
    attempt(
        project,
        tmp_path,
        code=2,
        needle=f"uv.lock uses lock schema v99, written by a newer uv; uv {find_uv().version} reads v1",
        hint="upgrade uv, or delete uv.lock and run `uv lock`",
    )


def test_a_lock_from_an_older_uv(project: Path, tmp_path: Path) -> None:
    edit(project / "uv.lock", "version = 1\n", "version = 0\n")
    attempt(
        project,
        tmp_path,
        code=2,
        needle="uv.lock uses lock schema v0, written by an older uv",
        hint="delete uv.lock and run `uv lock` to write it again",
    )


@pytest.mark.parametrize(
    ("content", "where"),
    [
        pytest.param("garbage [[\n", " (TOML parse error at line 1, column 9)", id="not-toml"),
        pytest.param("", "", id="empty"),
        pytest.param("\x00\xff binary", " (not UTF-8)", id="binary"),
    ],
)
def test_a_lock_that_is_not_a_lock(project: Path, tmp_path: Path, content: str, where: str) -> None:
    (project / "uv.lock").write_text(content, encoding="latin-1")
    attempt(
        project,
        tmp_path,
        code=2,
        needle=f"uv.lock is not a valid lock file{where}",
        hint="restore it from version control, or delete it and run `uv lock`",
    )


def test_a_dependency_that_is_not_on_the_index(project: Path, tmp_path: Path) -> None:
    name = "uv-lambda-no-such-package-xyzzy"
    edit(project / "pyproject.toml", "dependencies = []", f'dependencies = ["{name}"]')
    lock = (project / "uv.lock").read_bytes()
    attempt(
        project,
        tmp_path,
        project,
        "--lock",
        code=2,
        needle=f"the package index has no package {name!r}",
        hint=f"check the name {name!r} in the dependencies of pyproject.toml",
    )
    assert (project / "uv.lock").read_bytes() == lock


# --- pyproject.toml ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "needle", "hint"),
    [
        pytest.param("this is not [toml\n", "pyproject.toml is not valid TOML", "fix the syntax error", id="not-toml"),
        pytest.param("", "pyproject.toml has no [project] table with a name", "add [project]", id="empty"),
        pytest.param("[project]\nversion = '1'\n", "has no [project] table with a name", "add [project]", id="no-name"),
        pytest.param("[project]\nname = 'p'\n[project]\n", "is not valid TOML", "fix the syntax error", id="twice"),
    ],
)
def test_a_pyproject_that_is_not_one(project: Path, tmp_path: Path, content: str, needle: str, hint: str) -> None:
    (project / "pyproject.toml").write_text(content)
    attempt(project, tmp_path, code=2, needle=needle, hint=hint)


def test_a_pyproject_that_is_not_utf8(project: Path, tmp_path: Path) -> None:
    (project / "pyproject.toml").write_bytes(PYPROJECT.replace('"p"', '"p"\ndescription = "café"').encode("latin-1"))
    attempt(project, tmp_path, code=2, needle="pyproject.toml is not UTF-8", hint="save it as UTF-8")


@pytest.mark.parametrize(
    ("requires", "shown"), [(">=3.20", ">=3.20"), ("<3.9", "<3.9"), (">=3.13,<3.13", "<3.13,>=3.13")]
)
def test_requires_python_no_runtime_satisfies(project: Path, tmp_path: Path, requires: str, shown: str) -> None:
    edit(project / "pyproject.toml", ">=3.13", requires)
    attempt(
        project,
        tmp_path,
        code=2,
        needle=f"no Lambda runtime satisfies requires-python {shown} of p",
        hint="adjust requires-python or set runtime",
    )


# --- the handler and the code -------------------------------------------------------------------

HANDLER_HINT = 'e.g. handler = "app.main.handler"'


@pytest.mark.parametrize(
    ("handler", "needle"),
    [
        ("main", "it needs a module and a function name"),
        ("main.", "'' is not a function name"),
        (".handler", "'' is not a module path"),
        ("app:handler", "it needs a module and a function name"),
        ("app..handler", "'app.' is not a module path"),
        ("1app.handler", "'1app' is not a module path"),
        ("app.handler-x", "'handler-x' is not a function name"),
    ],
)
def test_malformed_handlers(project: Path, tmp_path: Path, handler: str, needle: str) -> None:
    edit(project / "pyproject.toml", '"app.handler"', f'"{handler}"')
    attempt(project, tmp_path, code=2, needle=f"malformed handler {handler!r}: {needle}", hint=HANDLER_HINT)


def test_a_handler_path_naming_a_missing_module(project: Path, tmp_path: Path) -> None:
    edit(project / "pyproject.toml", '"app.handler"', '"a/b.c"')
    attempt(
        project,
        tmp_path,
        code=1,
        needle="handler module 'a.b' is not in the artifact",
        hint="no a/b.py in the project: check the handler 'a/b.c'",
    )


def test_a_handler_naming_a_missing_function(project: Path, tmp_path: Path) -> None:
    edit(project / "pyproject.toml", '"app.handler"', '"app.nothere"')
    attempt(
        project,
        tmp_path,
        code=1,
        needle="app does not define 'nothere' (handler 'app.nothere')",
        hint="define nothere in app.py",
    )


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        pytest.param("def handler(event, context)\n    return 1\n", "SyntaxError: expected ':' (line 1)", id="colon"),
        pytest.param("def handler(e, c):\n\treturn 1\n        x = 1\n", "TabError", id="tabs"),
        pytest.param("def handler(e, c):\n    return f'{e!z}'\n", "SyntaxError", id="f-string"),
    ],
)
def test_a_syntax_error_in_the_app(project: Path, tmp_path: Path, source: str, needle: str) -> None:
    (project / "app.py").write_text(source)
    attempt(
        project,
        tmp_path,
        code=1,
        needle=f"app.py does not compile for the target Python: {needle}",
        hint="fix the syntax error",
    )


def test_a_latin1_source_file(project: Path, tmp_path: Path) -> None:
    (project / "app.py").write_bytes("def handler(event, context):\n    return 'café'\n".encode("latin-1"))
    attempt(project, tmp_path, code=1, needle="app.py does not compile for the target Python", hint="save it as UTF-8")


def test_a_project_with_no_python_code(project: Path, tmp_path: Path) -> None:
    (project / "app.py").unlink()
    attempt(
        project,
        tmp_path,
        code=1,
        needle="handler module 'app' is not in the artifact",
        hint="no app.py in the project",
    )


# --- flags and paths --------------------------------------------------------------------------

SUPPORTED = "use one of: python3.10, python3.11, python3.12, python3.13, python3.14"


@pytest.mark.parametrize(
    ("flags", "code", "needle", "hint"),
    [
        (["--runtime", "python3.9"], 2, "runtime python3.9 is deprecated by AWS Lambda", SUPPORTED),
        (["--runtime", "python2.7"], 2, "runtime python2.7 is deprecated by AWS Lambda", SUPPORTED),
        (["--runtime", "garbage"], 2, "unknown runtime 'garbage' (set by --runtime)", SUPPORTED),
        (["--runtime", "nodejs22.x"], 2, "unknown runtime 'nodejs22.x'", SUPPORTED),
        (["--arch", "i386"], 2, "argument --arch: invalid choice: 'i386'", "`uv-lambda build --help` lists"),
        (["--format", "garbage"], 2, "argument --format: invalid choice: 'garbage'", "`uv-lambda build --help`"),
        (["--function", "q"], 2, "no function 'q' in", "functions: p"),
        (["--runtime", ""], 2, "argument --runtime: is empty", "pass a value, or leave the option out"),
        (["--handler", " "], 2, "argument --handler: is empty", "pass a value, or leave the option out"),
        (["--function", ""], 2, "argument -f/--function: is empty", "pass a value, or leave the option out"),
        (["--out", ""], 2, "argument --out: is empty", "pass a value, or leave the option out"),
        (["--python", ""], 2, "argument --python: is empty", "pass a value, or leave the option out"),
        (["--no-such-flag"], 2, "unrecognized arguments: --no-such-flag", "`uv-lambda COMMAND --help` lists"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_bad_flags(project: Path, tmp_path: Path, flags: list[str], code: int, needle: str, hint: str) -> None:
    attempt(project, tmp_path, project, *flags, code=code, needle=needle, hint=hint)


def test_an_unknown_function_gets_the_closest_name(project: Path, tmp_path: Path) -> None:
    with (project / "pyproject.toml").open("a") as sink:
        sink.write("[tool.uv-lambda.functions.api]\n[tool.uv-lambda.functions.worker]\n")
    attempt(
        project,
        tmp_path,
        project,
        "--function",
        "wroker",
        code=2,
        needle="no function 'wroker' in",
        hint="did you mean 'worker'? (functions: api, worker)",
    )


@pytest.mark.parametrize(
    ("target", "needle"),
    [
        pytest.param(lambda project: project / "pyproject.toml", "pyproject.toml is not a folder", id="a-file"),
        pytest.param(lambda project: project / "nowhere", "nowhere does not exist", id="missing"),
        pytest.param(lambda project: "", "argument PATH: is empty", id="empty"),
    ],
)
def test_project_paths_that_are_not_projects(
    project: Path, tmp_path: Path, target: Callable[[Path], Path | str], needle: str
) -> None:
    hint = "pass a value" if needle.startswith("argument") else "pass the folder that holds pyproject.toml"
    attempt(project, tmp_path, target(project), code=2, needle=needle, hint=hint)


def test_a_folder_without_pyproject(project: Path, tmp_path: Path) -> None:
    attempt(project, tmp_path, project / "dist", code=2, needle="no pyproject.toml", hint="uv init")
