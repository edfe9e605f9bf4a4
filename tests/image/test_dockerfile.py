"""`uv-lambda dockerfile`: the uv guide's Dockerfiles, line for line, and the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from uv_lambda.image.dockerfile import plan_dockerfile, render_dockerfile
from uv_lambda.project import load_project
from uv_lambda.uv import find_uv

GOLDEN = Path(__file__).parent / "golden"
GUIDE_UV = "0.9.17"  # the uv version the guide's Dockerfiles pin

GUIDE_PYPROJECT = """\
[project]
name = "uv-aws-lambda-example"
version = "0.1.0"
requires-python = ">=3.13"
dependencies = ["fastapi", "mangum"{extra}]
{workspace}"""
GUIDE_MAIN = """\
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()
handler = Mangum(app)
"""


def guide_project(root: Path, *, workspace: bool = False, tool: str = "") -> Path:
    """The guide's project layout (project/pyproject.toml, app/main.py, optionally library/)."""
    root.mkdir(parents=True)
    extra = ', "library"' if workspace else ""
    members = '\n[tool.uv.workspace]\nmembers = ["library"]\n\n[tool.uv.sources]\nlibrary = { workspace = true }\n'
    (root / "pyproject.toml").write_text(
        GUIDE_PYPROJECT.format(extra=extra, workspace=members if workspace else "") + tool
    )
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "main.py").write_text(GUIDE_MAIN)
    (root / "tests").mkdir()  # not application code: never copied
    (root / "tests" / "__init__.py").write_text("")
    if workspace:
        (root / "library" / "src" / "library").mkdir(parents=True)
        (root / "library" / "pyproject.toml").write_text(
            '[project]\nname = "library"\nversion = "0.1.0"\n\n'
            '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        )
    return root


def render(root: Path, **overrides: Any) -> str:
    from uv_lambda.bundle.settings import resolve
    from uv_lambda.config import with_overrides

    project = load_project(root)
    [config] = project.functions().values()
    config = with_overrides(config, **overrides)
    settings = resolve(project, config)
    assert settings.handler
    spec = plan_dockerfile(
        project,
        config,
        handler=settings.handler,
        base_image=settings.runtime.base_image(settings.architecture),
        uv_version=GUIDE_UV,
    )
    return render_dockerfile(spec)


def guide_text(golden: Path) -> str:
    """The guide's Dockerfile with the one change every generated Dockerfile makes: the
    build's `--no-default-groups` for `--no-dev`, which keeps [tool.uv] default-groups
    (test tools, linters) in the image."""
    text = golden.read_text()
    assert text.count("--no-dev ") + text.count("`--no-dev`") == text.count("--no-dev") > 0
    return text.replace("--no-dev", "--no-default-groups")


def assert_same_lines(actual: str, golden: Path) -> None:
    expected = guide_text(golden).splitlines()
    lines = actual.splitlines()
    for number, (got, want) in enumerate(zip(lines, expected, strict=False), start=1):
        assert got == want, f"{golden.name} line {number}:\n  got:  {got!r}\n  want: {want!r}"
    assert len(lines) == len(expected), f"{len(lines)} lines, the guide has {len(expected)}"
    assert actual.endswith("\n")


def test_plain_dockerfile_is_the_guides(tmp_path: Path) -> None:
    assert_same_lines(render(guide_project(tmp_path / "project")), GOLDEN / "plain.Dockerfile")


# The guide's workspace variant loses members (see test_dockerfile_steps): these lines are
# added before its second RUN, and its install line gains --no-sources. Nothing else differs.
WORKSPACE_FIX = [
    "#",
    "# Two changes keep every member in the image (uv issue #14963): the workspace is mounted",
    "# outside the task root, where a member's mount would hide the package installed at the",
    "# same path; and `--no-sources`, without which members that other members depend on are",
    "# installed editable, as a .pth file pointing at the mount.",
    "WORKDIR /workspace",
]
GUIDE_INSTALL = '    uv pip install -r requirements.txt --target "${LAMBDA_TASK_ROOT}"'
FIXED_INSTALL = '    uv pip install --no-sources -r requirements.txt --target "${LAMBDA_TASK_ROOT}"'


def test_workspace_dockerfile_is_the_guides_with_the_member_fix(tmp_path: Path) -> None:
    root = guide_project(tmp_path / "project", workspace=True)
    lines = render(root).splitlines()
    second_run = [i for i, line in enumerate(lines) if line.startswith("RUN ")][1]
    assert lines[second_run - len(WORKSPACE_FIX) : second_run] == WORKSPACE_FIX
    assert lines.count(FIXED_INSTALL) == 1 and lines.index(FIXED_INSTALL) > second_run
    del lines[second_run - len(WORKSPACE_FIX) : second_run]
    lines[lines.index(FIXED_INSTALL)] = GUIDE_INSTALL
    assert_same_lines("\n".join(lines) + "\n", GOLDEN / "workspace.Dockerfile")


def test_arm64_uses_the_arm64_base_image(tmp_path: Path) -> None:
    text = render(guide_project(tmp_path / "project"), architecture="arm64")
    assert "FROM public.ecr.aws/lambda/python:3.13-arm64 AS builder" in text.splitlines()
    assert "FROM public.ecr.aws/lambda/python:3.13-arm64" in text.splitlines()
    assert "public.ecr.aws/lambda/python:3.13\n" not in text


def test_module_handler_and_configured_runtime(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "fn"\nversion = "1"\nrequires-python = ">=3.12"\n\n'
        '[tool.uv-lambda]\nhandler = "lambda_function.lambda_handler"\nruntime = "python3.12"\n'
    )
    (root / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    lines = render(root).splitlines()
    assert "COPY ./lambda_function.py ${LAMBDA_TASK_ROOT}/" in lines
    assert 'CMD ["lambda_function.lambda_handler"]' in lines
    assert "FROM public.ecr.aws/lambda/python:3.12" in lines


# ---- the command ---------------------------------------------------------------------------


def test_command_writes_both_files_pinned_to_the_uv_in_use(cli: Any, tmp_path: Path) -> None:
    root = guide_project(tmp_path / "project")
    done = cli("dockerfile", root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(root / "Dockerfile")
    text = (root / "Dockerfile").read_text()
    assert text.splitlines()[0] == f"FROM ghcr.io/astral-sh/uv:{find_uv().version} AS uv"
    assert text.splitlines()[1:] == guide_text(GOLDEN / "plain.Dockerfile").splitlines()[1:]
    ignore = (root / ".dockerignore").read_text().splitlines()
    assert {"**/.venv", ".git", "dist", "**/__pycache__", "**/.env", "**/*.pem"} <= set(ignore)
    assert "docker build -t uv-aws-lambda-example ." in done.stderr


def test_command_refuses_to_overwrite_without_force(cli: Any, tmp_path: Path) -> None:
    root = guide_project(tmp_path / "project")
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / ".dockerignore").write_text("mine\n")
    refused = cli("dockerfile", root)
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[0] == f"error: {root / 'Dockerfile'} already exists"
    assert refused.stderr.splitlines()[1].startswith("hint: pass --force")
    assert "Traceback" not in refused.stderr
    assert (root / "Dockerfile").read_text() == "FROM scratch\n"
    forced = cli("dockerfile", root, "--force", "--arch", "arm64")
    assert forced.returncode == 0, forced.stderr
    assert "python:3.13-arm64" in (root / "Dockerfile").read_text()
    assert (root / ".dockerignore").read_text() != "mine\n"
    assert not [p.name for p in root.iterdir() if "tmp" in p.name]


def test_existing_dockerignore_is_kept(cli: Any, tmp_path: Path) -> None:
    root = guide_project(tmp_path / "project")
    (root / ".dockerignore").write_text("mine\n")
    done = cli("dockerfile", root)
    assert done.returncode == 0, done.stderr
    assert (root / ".dockerignore").read_text() == "mine\n"
    assert "kept the existing" in done.stderr


def test_runtime_outside_requires_python_is_refused(cli: Any, tmp_path: Path) -> None:
    root = guide_project(tmp_path / "project")
    done = cli("dockerfile", root, "--runtime", "python3.12")
    assert done.returncode == 2
    assert "requires-python" in done.stderr.splitlines()[0]
    assert not (root / "Dockerfile").exists()


def test_function_in_a_workspace_member(cli: Any, tmp_path: Path) -> None:
    root = guide_project(tmp_path / "project", workspace=True)
    member = root / "library"
    (member / "src" / "library" / "__init__.py").write_text("def handler(event, context):\n    return 1\n")
    with (member / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.uv-lambda]\nhandler = "library.handler"\ninclude = ["src/library"]\n')
    done = cli("dockerfile", member)
    assert done.returncode == 0, done.stderr
    lines = (member / "Dockerfile").read_text().splitlines()
    assert lines[0] == "# Build from the workspace root: docker build -f library/Dockerfile ."
    assert "COPY ./library/src/library ${LAMBDA_TASK_ROOT}/library" in lines
    assert any("--package library -o requirements.txt" in line for line in lines)
    assert (root / ".dockerignore").is_file()  # beside the build context


def test_several_functions_get_one_dockerfile_each(cli: Any, tmp_path: Path) -> None:
    tool = (
        '\n[tool.uv-lambda.functions.api]\nhandler = "app.main.handler"\n'
        '[tool.uv-lambda.functions.worker]\nhandler = "app.main.handler"\n'
    )
    root = guide_project(tmp_path / "project", tool=tool)
    ambiguous = cli("dockerfile", root)
    assert ambiguous.returncode == 2 and "--function" in ambiguous.stderr
    done = cli("dockerfile", root, "--function", "worker")
    assert done.returncode == 0, done.stderr
    assert (root / "Dockerfile.worker").is_file() and not (root / "Dockerfile").exists()


def test_a_packaged_root_is_not_exported_in_the_workspace_step(tmp_path: Path) -> None:
    build_system = '\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    root = guide_project(tmp_path / "project", workspace=True, tool=build_system)
    lines = render(root).splitlines()
    exports = [line for line in lines if "uv export" in line]
    assert "--no-emit-project" not in exports[0]  # --no-emit-workspace already drops it
    assert "--no-emit-project" in exports[1]
    assert "COPY ./app ${LAMBDA_TASK_ROOT}/app" in lines


def test_no_application_code_is_an_error(cli: Any, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "fn"\nversion = "1"\nrequires-python = ">=3.13"\n\n'
        '[tool.uv-lambda]\nhandler = "missing.handler"\n'
    )
    done = cli("dockerfile", root)
    assert done.returncode == 2
    assert done.stderr.startswith("error: found no application code in ")
    assert "hint: " in done.stderr and "Traceback" not in done.stderr
    assert not (root / "Dockerfile").exists() and not (root / ".dockerignore").exists()


def test_not_a_project(cli: Any, tmp_path: Path) -> None:
    done = cli("dockerfile", tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == f"error: no pyproject.toml in {tmp_path.resolve()}"
