"""`uv-lambda init`: a new project that builds and invokes with no edits."""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

from uv_lambda import atomic
from uv_lambda.cli._common import HelpFormatter
from uv_lambda.errors import CommandError, UsageError
from uv_lambda.ui import Reporter

ORDER = 5
TEMPLATES = ("fastapi", "handler", "workspace")
PYTHON = "3.13"

DESCRIPTION = """\
Create a project in DIR (default: the current folder, which must be empty) from a
template, with an event.json to invoke it with, and lock it with uv.

templates:
  fastapi    the uv guide's FastAPI app behind Mangum (app/main.py)       [default]
  handler    a plain handler function, no dependencies
  workspace  the guide's FastAPI app calling a workspace member, `library`

examples:
  uv-lambda init hello && cd hello && uv-lambda invoke --event event.json
  uv-lambda init api --template workspace"""

# The uv guide's event: an API Gateway REST (payload 1.0) GET of "/".
GUIDE_EVENT = {"httpMethod": "GET", "path": "/", "requestContext": {}, "version": "1.0"}

FASTAPI_MAIN = """\
import logging

from fastapi import FastAPI
from mangum import Mangum
{import_line}
logger = logging.getLogger()
logger.setLevel(logging.INFO)

app = FastAPI()
handler = Mangum(app)


@app.get("/")
async def root() -> str:
    return {greeting}
"""

HANDLER_MAIN = '''\
import json


def handler(event, context):
    """Answer an API Gateway / Function URL request, or any other event."""
    name = (event.get("queryStringParameters") or {}).get("name", "world")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": f"Hello, {name}!", "request_id": context.aws_request_id}),
    }
'''

LIBRARY_INIT = """\
def hello() -> str:
    return "Hello from library!"
"""


def _pyproject(name: str, dependencies: list[tuple[str, str]], extra: str = "", dev: bool = True) -> str:
    deps = "".join(f"    # {comment}\n    {json.dumps(dep)},\n" for dep, comment in dependencies)
    text = f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">={PYTHON}"\n'
    text += f"dependencies = [\n{deps}]\n" if deps else "dependencies = []\n"
    if dev:
        text += (
            "\n[dependency-groups]\ndev = [\n"
            "    # In development mode, include the FastAPI development server.\n"
            '    "fastapi[standard]>=0.115",\n]\n'
        )
    text += f'\n[tool.uv-lambda]\nruntime = "python{PYTHON}"\nhandler = "app.main.handler"\n'
    return text + extra


FASTAPI_DEPS = [
    ("fastapi", "FastAPI is a modern web framework for building APIs with Python."),
    ("mangum", "Mangum is a library that adapts ASGI applications to AWS Lambda and API Gateway."),
]


def template_files(template: str, name: str) -> dict[str, str]:
    """The files of `template` for a project called `name` (pure)."""
    event = json.dumps(GUIDE_EVENT, indent=2) + "\n"
    common = {
        ".python-version": f"{PYTHON}\n",
        ".gitignore": "dist/\n.venv/\n__pycache__/\n",
        "event.json": event,
        "app/__init__.py": "",
    }
    if template == "fastapi":
        return {
            **common,
            "pyproject.toml": _pyproject(name, FASTAPI_DEPS),
            "app/main.py": FASTAPI_MAIN.format(import_line="", greeting='"Hello, world!"'),
        }
    if template == "handler":
        return {**common, "pyproject.toml": _pyproject(name, [], dev=False), "app/main.py": HANDLER_MAIN}
    workspace = '\n[tool.uv.workspace]\nmembers = ["library"]\n\n[tool.uv.sources]\nlibrary = { workspace = true }\n'
    deps = [FASTAPI_DEPS[0], ("library", "A local library."), FASTAPI_DEPS[1]]
    return {
        **common,
        "pyproject.toml": _pyproject(name, deps, workspace),
        "app/main.py": FASTAPI_MAIN.format(import_line="\nfrom library import hello\n", greeting="hello()"),
        "library/pyproject.toml": (
            '[project]\nname = "library"\nversion = "0.1.0"\n'
            f'requires-python = ">={PYTHON}"\ndependencies = []\n\n'
            '[build-system]\nrequires = ["uv_build>=0.13.9,<0.14.0"]\nbuild-backend = "uv_build"\n'
        ),
        "library/README.md": "",
        "library/src/library/__init__.py": LIBRARY_INIT,
        "library/src/library/py.typed": "",
    }


def project_name(folder: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.resolve().name).strip("-._").lower()
    return name or "lambda-app"


def template_dependencies(template: str) -> set[str]:
    """The names the template's pyproject.toml depends on (normalised), the dev group included."""
    names = {"fastapi", "mangum"} if template != "handler" else set()
    return names | {"library"} if template == "workspace" else names


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _free_name(name: str) -> str:
    """A name for a project whose first choice is taken by one of its dependencies."""
    return f"{name}-app"


def _collision(output: str) -> bool:
    """uv's resolution failed because the project is named like one of its own dependencies."""
    # uv says it in more than one way, depending on where in the tree the name sits.
    return any(words in output for words in ("depends on your project", "shadowed by your project")) or bool(
        re.search(r"\S+ depends on itself", output)
    )


def _lock_failure(exc: CommandError, name: str) -> UsageError | CommandError:
    """The lock failed: say why, with a hint that fits (a name, credentials, the network, the
    resolution)."""
    from uv_lambda.uv import AUTH_HINT, NETWORK_FAILURE, NETWORK_HINT, auth_refusal

    reason = exc.message.split(": ", 1)[-1]
    if _collision(exc.output):
        return UsageError(
            f"uv lock failed: the project name {name!r} is also the name of a package it depends on",
            "choose another --name",
        )
    refusal = auth_refusal(exc.output)  # first: its output holds the network pattern too
    if refusal:
        return CommandError(f"uv lock failed: {refusal}", f"{AUTH_HINT}, or pass --no-lock")
    if NETWORK_FAILURE.search(exc.output):
        return CommandError(f"uv lock failed: {reason}", f"{NETWORK_HINT} (UV_DEFAULT_INDEX), or pass --no-lock")
    if "No solution found" in exc.output:
        return CommandError(
            f"uv lock failed: {reason}",
            "the template's dependencies do not resolve on the index uv uses: check UV_DEFAULT_INDEX and "
            "exclude-newer in uv.toml, or pass --no-lock and adjust pyproject.toml",
        )
    return CommandError(f"uv lock failed: {reason}", "run with -v to see uv's output, or pass --no-lock")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "init",
        parents=[common],
        help="create a new Lambda project from a template",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("dir", nargs="?", type=Path, default=Path("."), metavar="DIR", help="where (default: .)")
    p.add_argument("--template", choices=TEMPLATES, default="fastapi", help="what to create (default fastapi)")
    p.add_argument("--name", help="the project name (default: the folder's name)")
    p.add_argument("--no-lock", action="store_true", help="do not run `uv lock` (offline)")
    p.set_defaults(handler=run)


def _check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder", "pass a new or empty folder")
    if target.is_dir() and any(entry.name != ".git" for entry in target.iterdir()):
        raise UsageError(f"{target} is not empty", "pass a new or empty folder, e.g. `uv-lambda init my-function`")


def _write(template: str, name: str, folder: Path) -> None:
    for relative, text in template_files(template, name).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _lock(args: argparse.Namespace, folder: Path, name: str, reporter: Reporter) -> str:
    """Lock the project in `folder`; returns its name, changed when the first one collided with
    a package of the dependency tree (starlette, pydantic... are not known before resolving)."""
    from uv_lambda.uv import find_uv

    uv = find_uv()
    try:
        uv.run(["lock", "--quiet"], cwd=folder, what="uv lock")
        return name
    except CommandError as exc:
        if args.name or not _collision(exc.output):
            raise _lock_failure(exc, name) from None
    free = _free_name(name)
    reporter.info(f"naming the project {free!r}: {name!r} is a package it depends on (see --name)")
    _write(args.template, free, folder)
    try:
        uv.run(["lock", "--quiet"], cwd=folder, what="uv lock")
    except CommandError as exc:
        raise _lock_failure(exc, free) from None
    return free


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    target: Path = args.dir
    _check_target(target)
    name = args.name or project_name(target)
    if _normalized(name) in template_dependencies(args.template):
        if args.name:
            raise UsageError(
                f"the project name {name!r} is also the name of a package the {args.template} template depends on",
                "choose another --name",
            )
        reporter.info(f"naming the project {_free_name(name)!r}: {name!r} is a package it depends on (see --name)")
        name = _free_name(name)
    # Written and locked in a scratch folder (inside an existing empty target, else beside it),
    # then moved into place: a failed lock leaves nothing behind.
    home = target.resolve() if target.is_dir() else target.resolve().parent
    home.mkdir(parents=True, exist_ok=True)
    scratch = Path(atomic.temporary_name(home / name))
    scratch.mkdir(mode=0o700)
    try:
        _write(args.template, name, scratch)
        if not args.no_lock:
            with reporter.step("locking with uv"):
                name = _lock(args, scratch, name, reporter)
        scratch.chmod(0o755)  # private while it is written; a project folder is not
        if target.is_dir():
            for entry in scratch.iterdir():
                entry.rename(target / entry.name)
            scratch.rmdir()
        else:
            scratch.rename(target)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    reporter.info(f"created {args.template} project {name} in {target}")
    enter = "" if target.resolve() == Path.cwd() else f"cd {target} && "
    reporter.info(f"next: {enter}uv-lambda invoke --event event.json")
    return 0
