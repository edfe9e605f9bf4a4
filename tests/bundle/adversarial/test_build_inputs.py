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
from tests.support.local_run import assert_refused, run
from tests.support.projects import write_project

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


# --- the project's files -----------------------------------------------------------------------

UV_LOCK = "run `uv lock`"
BROKEN_LOCK = "restore it from version control, or delete it and run `uv lock`"
HANDLER = 'e.g. handler = "app.main.handler"'
RUNTIMES = "adjust requires-python or set runtime"
SYNTAX = "fix the syntax error"


def _handler(handler: str, needle: str) -> tuple[str, str, str, int, str, str]:
    return "pyproject.toml", '"app.handler"', f'"{handler}"', 2, f"malformed handler {handler!r}: {needle}", HANDLER


def _requires(spec: str, shown: str) -> tuple[str, str, str, int, str, str]:
    return "pyproject.toml", ">=3.13", spec, 2, f"no Lambda runtime satisfies requires-python {shown} of p", RUNTIMES


# id -> (file, text replaced, its replacement, exit code, the error holds, the hint holds)
EDITS: dict[str, tuple[str, str, str, int, str, str]] = {
    "lock-stale": (
        "pyproject.toml",
        "dependencies = []",
        'dependencies = ["idna"]',
        2,
        "uv.lock is out of date with pyproject.toml",
        UV_LOCK,
    ),
    "lock-newer-uv": (
        "uv.lock",
        "version = 1\n",
        "version = 99\n",
        2,
        f"uv.lock uses lock schema v99, written by a newer uv; uv {find_uv().version} reads v1",
        "upgrade uv, or delete uv.lock and run `uv lock`",
    ),
    "lock-older-uv": (
        "uv.lock",
        "version = 1\n",
        "version = 0\n",
        2,
        "uv.lock uses lock schema v0, written by an older uv",
        "delete uv.lock and run `uv lock` to write it again",
    ),
    "requires-python-future": _requires(">=3.20", ">=3.20"),
    "requires-python-past": _requires("<3.9", "<3.9"),
    "requires-python-nothing": _requires(">=3.13,<3.13", "<3.13,>=3.13"),
    "handler-no-dot": _handler("main", "it needs a module and a function name"),
    "handler-no-function": _handler("main.", "'' is not a function name"),
    "handler-no-module": _handler(".handler", "'' is not a module path"),
    "handler-colon": _handler("app:handler", "it needs a module and a function name"),
    "handler-two-dots": _handler("app..handler", "'app.' is not a module path"),
    "handler-digit": _handler("1app.handler", "'1app' is not a module path"),
    "handler-dash": _handler("app.handler-x", "'handler-x' is not a function name"),
    "handler-missing-module": (
        "pyproject.toml",
        '"app.handler"',
        '"a/b.c"',
        1,
        "handler module 'a.b' is not in the artifact",
        "no a/b.py in the project: check the handler 'a/b.c'",
    ),
    "handler-missing-function": (
        "pyproject.toml",
        '"app.handler"',
        '"app.nothere"',
        1,
        "app does not define 'nothere' (handler 'app.nothere')",
        "define nothere in app.py",
    ),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_an_edited_project_file(project: Path, tmp_path: Path, case: str) -> None:
    name, old, new, code, needle, hint = EDITS[case]
    edit(project / name, old, new)
    attempt(project, tmp_path, code=code, needle=needle, hint=hint)


def _source(text: str, needle: str, hint: str = SYNTAX) -> tuple[str, bytes, int, str, str]:
    return "app.py", text.encode(), 1, f"app.py does not compile for the target Python: {needle}", hint


# id -> (file, its new bytes, exit code, the error holds, the hint holds)
CONTENTS: dict[str, tuple[str, bytes, int, str, str]] = {
    "lock-not-toml": ("uv.lock", b"garbage [[\n", 2, "uv.lock is not a valid lock file (TOML parse error", BROKEN_LOCK),
    "lock-empty": ("uv.lock", b"", 2, "uv.lock is not a valid lock file", BROKEN_LOCK),
    "lock-binary": ("uv.lock", b"\x00\xff binary", 2, "uv.lock is not a valid lock file (not UTF-8)", BROKEN_LOCK),
    "pyproject-not-toml": ("pyproject.toml", b"this is not [toml\n", 2, "pyproject.toml is not valid TOML", SYNTAX),
    "pyproject-empty": ("pyproject.toml", b"", 2, "has no [project] table with a name", "add [project]"),
    "pyproject-no-name": (
        "pyproject.toml",
        b"[project]\nversion = '1'\n",
        2,
        "has no [project] table",
        "add [project]",
    ),
    "pyproject-twice": ("pyproject.toml", b"[project]\nname = 'p'\n[project]\n", 2, "is not valid TOML", SYNTAX),
    "pyproject-latin-1": (
        "pyproject.toml",
        PYPROJECT.replace('"p"', '"p"\ndescription = "café"').encode("latin-1"),
        2,
        "pyproject.toml is not UTF-8 (byte 0xe9",
        "save it as UTF-8",
    ),
    "source-colon": _source("def handler(event, context)\n    return 1\n", "SyntaxError: expected ':' (line 1)"),
    "source-tabs": _source("def handler(e, c):\n\treturn 1\n        x = 1\n", "TabError"),
    "source-f-string": _source("def handler(e, c):\n    return f'{e!z}'\n", "SyntaxError"),
    "source-latin-1": (
        "app.py",
        "def handler(event, context):\n    return 'café'\n".encode("latin-1"),
        1,
        "app.py does not compile for the target Python",
        "save it as UTF-8",
    ),
}


@pytest.mark.parametrize("case", sorted(CONTENTS))
def test_a_project_file_that_is_not_what_it_should_be(project: Path, tmp_path: Path, case: str) -> None:
    name, content, code, needle, hint = CONTENTS[case]
    (project / name).write_bytes(content)
    attempt(project, tmp_path, code=code, needle=needle, hint=hint)


def test_no_lock(project: Path, tmp_path: Path) -> None:
    (project / "uv.lock").unlink()
    attempt(project, tmp_path, code=2, needle="uv.lock does not exist", hint=UV_LOCK)


def test_a_project_with_no_python_code(project: Path, tmp_path: Path) -> None:
    (project / "app.py").unlink()
    attempt(project, tmp_path, code=1, needle="handler module 'app' is not in the artifact", hint="no app.py in")


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
        (["--metadata", ""], 2, "argument --metadata: is empty", "pass a value, or leave the option out"),
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
