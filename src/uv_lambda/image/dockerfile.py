"""The uv guide's multi-stage Dockerfile and a .dockerignore, for people who build with Docker.

The text follows the guide line for line (tests/image/golden holds the guide's two
Dockerfiles); what varies is filled in: the uv image pinned to the uv in use, the Lambda
base image for the runtime and architecture, the workspace members mounted in the second
install step, the application code copied, and the handler. The workspace step differs
from the guide's in two lines, without which members go missing (see docs/image.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from uv_lambda import atomic
from uv_lambda.bundle.export.exporter import NO_DEFAULT_GROUPS, chosen_args
from uv_lambda.bundle.stage.never_shipped import NEVER_SHIPPED_DIRS
from uv_lambda.bundle.stage.sources import SECRET_PATTERNS, default_includes
from uv_lambda.config import FunctionConfig
from uv_lambda.errors import ConfigError, UsageError
from uv_lambda.project import Project, default_out_dir


@dataclass(frozen=True)
class DockerfileSpec:
    uv_version: str  # "0.13.9"
    base_image: str  # "public.ecr.aws/lambda/python:3.13"
    handler: str
    copies: tuple[tuple[str, str], ...]  # (source in the build context, destination)
    members: tuple[str, ...] = ()  # workspace member folders, relative to the context
    package: str | None = None  # `uv export --package`, when the function is a member's
    context_note: str | None = None  # how to build when the context is not the Dockerfile's folder
    project_is_package: bool = False  # packaged (Package.is_packaged): uv export would emit it
    chosen: tuple[str, ...] = ()  # extras, groups, pruned packages: the build's (exporter.chosen_args)


_TASK_ROOT = "${LAMBDA_TASK_ROOT}"
# Where the builder stage mounts the workspace for the second install (never the task root).
WORKSPACE_MOUNT = "/workspace"
_INSTALL = '    uv pip install -r requirements.txt --target "${LAMBDA_TASK_ROOT}"'


def _mounts(extra: Sequence[str] = ()) -> list[str]:
    return [
        "RUN --mount=from=uv,source=/uv,target=/bin/uv \\",
        "    --mount=type=cache,target=/root/.cache/uv \\",
        "    --mount=type=bind,source=uv.lock,target=uv.lock \\",
        "    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\",
        *(f"    --mount=type=bind,source={member},target={member} \\" for member in extra),
    ]


def _names(members: Sequence[str]) -> str:
    quoted = [f"`{PurePosixPath(member).name}`" for member in members]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def render_dockerfile(spec: DockerfileSpec) -> str:
    # What the build ships, exported as the build exports it (bundle/export/exporter.py): the
    # guide's --no-dev would keep [tool.uv] default-groups, and ignore extras, groups and
    # exclude-packages.
    selection = f"{NO_DEFAULT_GROUPS} --no-editable"
    selection += f" --package {spec.package}" if spec.package else ""
    selection += "".join(f" {arg}" for arg in spec.chosen)
    # A project with a build system would be exported as `.`: its code is copied below instead.
    no_project = " --no-emit-project" if spec.project_is_package else ""
    lines: list[str] = []
    if spec.context_note:
        lines += [f"# {spec.context_note}", ""]
    lines += [
        f"FROM ghcr.io/astral-sh/uv:{spec.uv_version} AS uv",
        "",
        "# First, bundle the dependencies into the task root.",
        f"FROM {spec.base_image} AS builder",
        "",
        "# Enable bytecode compilation, to improve cold-start performance.",
        "ENV UV_COMPILE_BYTECODE=1",
        "",
        "# Disable installer metadata, to create a deterministic layer.",
        "ENV UV_NO_INSTALLER_METADATA=1",
        "",
        "# Enable copy mode to support bind mount caching.",
        "ENV UV_LINK_MODE=copy",
        "",
        "# Bundle the dependencies into the Lambda task root via `uv pip install --target`.",
        "#",
        f"# Omit any local packages (`--no-emit-workspace`) and development dependencies (`{NO_DEFAULT_GROUPS}`).",
        "# This ensures that the Docker layer cache is only invalidated when the `pyproject.toml` or `uv.lock`",
        "# files change, but remains robust to changes in the application code.",
        *_mounts(),
        f"    uv export --frozen --no-emit-workspace {selection} -o requirements.txt && \\",
        _INSTALL,
        "",
    ]
    if spec.members:
        lines += [
            "# If you have a workspace, copy it over and install it too.",
            "#",
            f"# By omitting `--no-emit-workspace`, {_names(spec.members)} will be copied into "
            "the task root. Using a separate",
            "# `RUN` command ensures that all third-party dependencies are cached separately and remain",
            "# robust to changes in the workspace.",
            "#",
            "# Two changes keep every member in the image (uv issue #14963): the workspace is mounted",
            "# outside the task root, where a member's mount would hide the package installed at the",
            "# same path; and `--no-sources`, without which members that other members depend on are",
            "# installed editable, as a .pth file pointing at the mount.",
            f"WORKDIR {WORKSPACE_MOUNT}",
            *_mounts(spec.members),
            f"    uv export --frozen{no_project} {selection} -o requirements.txt && \\",
            '    uv pip install --no-sources -r requirements.txt --target "${LAMBDA_TASK_ROOT}"',
            "",
        ]
    lines += [
        f"FROM {spec.base_image}",
        "",
        "# Copy the runtime dependencies from the builder stage.",
        "COPY --from=builder ${LAMBDA_TASK_ROOT} ${LAMBDA_TASK_ROOT}",
        "",
        "# Copy the application code.",
        *(f"COPY ./{source} {destination}" for source, destination in spec.copies),
        "",
        "# Set the AWS Lambda handler.",
        f'CMD ["{spec.handler}"]',
    ]
    return "\n".join(lines) + "\n"


def render_dockerignore() -> str:
    """Keeps environments, build output, caches and secret-looking files out of the context."""
    lines = [
        "# Written by uv-lambda: what the image never needs, and secrets it must never hold.",
        ".git",
        "dist",
        "**/*.pyc",
    ]
    lines += [f"**/{folder}" for folder in sorted(NEVER_SHIPPED_DIRS - {".git"})]
    lines += [f"**/{pattern}" for pattern in SECRET_PATTERNS]
    return "\n".join(lines) + "\n"


def _relative(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def plan_dockerfile(
    project: Project, config: FunctionConfig, *, handler: str, base_image: str, uv_version: str
) -> DockerfileSpec:
    """What the Dockerfile for `config` holds; the build context is the workspace root."""
    context = project.workspace_root
    source = project.source(config)
    includes = list(config.include) or default_includes(source.path)
    copies: list[tuple[str, str]] = []
    for pattern in includes:
        for match in sorted(source.path.glob(pattern)):
            name = _relative(match, context)
            # A folder keeps its name under the task root; a module lands in it.
            destination = _TASK_ROOT + (f"/{match.name}" if match.is_dir() else "/")
            if (name, destination) not in copies:
                copies.append((name, destination))
    members = tuple(
        sorted(
            _relative(member.path, context)
            for member in project.members.values()
            if member.path.resolve() != context.resolve()
        )
    )
    package = source.name if source.path.resolve() != context.resolve() else None
    note = None
    if project.root.resolve() != context.resolve():
        note = f"Build from the workspace root: docker build -f {_relative(project.root, context)}/Dockerfile ."
    return DockerfileSpec(
        uv_version,
        base_image,
        handler,
        tuple(copies),
        members,
        package,
        note,
        source.is_packaged,
        tuple(chosen_args(config)),
    )


@dataclass(frozen=True)
class Written:
    dockerfile: Path
    written: tuple[Path, ...]
    kept_dockerignore: Path | None
    build_command: str


def _write_atomically(path: Path, text: str) -> None:
    atomic.write_text(path, text)


def write_dockerfile(project: Project, config: FunctionConfig, *, force: bool, per_function: bool = False) -> Written:
    """Write the Dockerfile (`Dockerfile.<name>` when the project has several functions)."""
    from uv_lambda.bundle.settings import resolve
    from uv_lambda.uv import find_uv

    settings = resolve(project, config, default_out_dir(project, config.name))  # its default runtime, kept
    assert settings.handler is not None  # resolve() gives one for every format but layer
    spec = plan_dockerfile(
        project,
        config,
        handler=settings.handler,
        base_image=settings.runtime.base_image(settings.architecture),
        uv_version=find_uv().version,
    )
    if not spec.copies:
        raise ConfigError(
            f"found no application code in {settings.source.path} to copy into the image",
            'name the code folders with include = ["app"] (or ["src/app"]) in [tool.uv-lambda]',
        )
    dockerfile = project.root / (f"Dockerfile.{config.name}" if per_function else "Dockerfile")
    if dockerfile.exists() and not force:
        raise UsageError(
            f"{dockerfile} already exists",
            "pass --force to replace it (uv-lambda does not merge edits)",
        )
    dockerignore = project.workspace_root / ".dockerignore"
    written = [dockerfile]
    kept: Path | None = dockerignore
    if force or not dockerignore.exists():
        _write_atomically(dockerignore, render_dockerignore())
        written.append(dockerignore)
        kept = None
    _write_atomically(dockerfile, render_dockerfile(spec))
    relative = _relative(dockerfile, project.workspace_root)
    flag = "" if relative == "Dockerfile" else f" -f {relative}"
    where = "" if project.root.resolve() == project.workspace_root.resolve() else f"cd {project.workspace_root} && "
    return Written(dockerfile, tuple(written), kept, f"{where}docker build{flag} -t {config.aws_name} .")
