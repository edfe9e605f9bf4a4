"""The build pipeline: project -> exported lock -> staged trees -> verified, deterministic zips.

Steps, in order (each named in progress output and in errors):
  1. resolve settings (runtime, architecture, handler)     settings.py
  2. export the lock (third-party pins, local packages)     exporter.py
  3. third-party dependencies, from the cache or installed  dependencies.py
  4. workspace packages, built from source every time       here
  5. application code, selected by include/exclude          sources.py
  6. verify (platform, glibc, ABI, build paths, handler)    verify.py, handler.py
  7. bytecode for local code, with the target interpreter  bytecode.py
  8. write archives to temporary names, then rename         archive.py
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import parse_wheel_filename

from uv_lambda import artifact as model
from uv_lambda.build import app_files, archive, bytecode, collisions, dependencies, exporter, incremental, sources
from uv_lambda.build.settings import BuildSettings, resolve
from uv_lambda.config import FunctionConfig
from uv_lambda.errors import UsageError, VerificationError
from uv_lambda.handler import check_handler, module_file, parse_handler
from uv_lambda.metadata_file import file_sha256, formatted
from uv_lambda.project import Project, default_out_dir
from uv_lambda.runtimes import Architecture, Runtime
from uv_lambda.ui import Reporter, human_size
from uv_lambda.uv import Uv, find_uv
from uv_lambda.verify import Target, check_tree

log = logging.getLogger(__name__)

ZIP_UPLOAD_LIMIT = 50 * 1024 * 1024  # larger zips must go through S3
UNZIPPED_LIMIT = 250 * 1024 * 1024  # function + all layers, unzipped
TASK_ROOT = "/var/task/"


@dataclass(frozen=True)
class StagedFunction:
    """Everything a function's artifacts are made of, verified and compiled, on disk."""

    settings: BuildSettings
    dependencies: dependencies.CachedDependencies
    workspace_dir: Path  # workspace packages, installed non-editable
    app_dir: Path  # application code copied from the project
    packages: tuple[model.PackageInfo, ...]
    uv_version: str
    warnings: tuple[str, ...]
    recipe: incremental.Recipe | None = None  # set when an app-only rebuild can skip the pipeline

    @property
    def runtime(self) -> Runtime:
        return self.settings.runtime

    @property
    def architecture(self) -> Architecture:
        return self.settings.architecture

    @property
    def handler(self) -> str | None:
        return self.settings.handler

    @property
    def python_version(self) -> str:
        return self.settings.runtime.python_version

    @property
    def dependencies_dir(self) -> Path:
        return self.dependencies.site_packages

    @property
    def dependencies_hash(self) -> str:
        return self.dependencies.key


def _local_wheels(uv: Uv, folders: tuple[Path, ...], wheels_dir: Path, cwd: Path) -> list[Path]:
    """A wheel for every local package: built from a folder or an sdist, taken as it is
    when the dependency is a wheel file (`uv add ./vendor/x-1.0-py3-none-any.whl`)."""
    wheels_dir.mkdir(parents=True, exist_ok=True)
    for source in folders:
        if source.suffix == ".whl":
            shutil.copyfile(source, wheels_dir / source.name)
            continue
        # `uv build` of a path always runs the backend on the current sources: no stale copy.
        # An sdist is built into a wheel the same way (any PEP 517 backend).
        uv.run(
            ["build", "--wheel", "--out-dir", wheels_dir, "--no-create-gitignore", source],
            cwd=cwd,
            what=f"building {source.name}",
            hint=f"fix the build of {source} (try `uv build --wheel {source}`)",
        )
    return sorted(wheels_dir.glob("*.whl"))


def _install_local_packages(
    uv: Uv, folders: tuple[Path, ...], settings: BuildSettings, target: Path, scratch: Path, cwd: Path
) -> list[model.PackageInfo]:
    """Install every local package (workspace members, path dependencies) non-editable."""
    if not folders:
        return []
    wheels = _local_wheels(uv, folders, scratch / "wheels", cwd)
    uv.run(
        [
            "pip",
            "install",
            "--target",
            target,
            "--no-deps",
            "--no-sources",
            "--no-index",
            "--python-platform",
            settings.runtime.uv_platform(settings.architecture),
            "--python-version",
            settings.runtime.python_version,
            "--no-installer-metadata",
            "--no-compile-bytecode",
            "--link-mode",
            "copy",
            *wheels,
        ],
        cwd=cwd,
        what="installing local packages",
        hint=(
            f"every local package must install on {settings.runtime.uv_platform(settings.architecture)}: one with "
            "compiled code needs a manylinux wheel built for the target, depended on as a file"
        ),
    )
    dependencies.remove_install_debris(target)
    infos = []
    for wheel in wheels:
        name, version, _, _ = parse_wheel_filename(wheel.name)
        infos.append(model.PackageInfo(str(name), str(version), "workspace"))
    return infos


def _include_names(settings: BuildSettings, provided: list[str]) -> tuple[list[str], list[str] | None]:
    """(the include names, the names an app-only rebuild's snapshot uses: None for the plain
    default of a project without a build system, which incremental.py recomputes itself)."""
    if settings.config.include:
        return list(settings.config.include), list(settings.config.include)
    handler_module = parse_handler(settings.handler)[0] if settings.handler else None
    default = app_files.default_application(settings.source.path, handler_module, provided)
    if settings.source.has_build_system or default.beyond_default:
        return default.includes, default.includes
    return default.includes, None


def _copy_app(
    settings: BuildSettings, target: Path, provided: list[str]
) -> tuple[sources.Selection, dict[str, list[str]] | None, list[str]]:
    """Copy the application files; returns (the selection, its snapshot (see incremental.py),
    or None when globs make one unknowable, and warnings)."""
    source = settings.source
    config = settings.config
    includes, names = _include_names(settings, provided)
    # Taken before choosing: a file added meanwhile makes the next build a full one. A
    # default widened for the handler is not one incremental.py can recompute: no snapshot.
    snapshot = None if names is not None and not config.include else incremental.selection_snapshot(source.path, names)
    selection = sources.select_files(source.path, includes, config.exclude)
    warnings = [
        f"left out {name}: it looks like a secret (add it to `exclude` to silence this)"
        for name in selection.secrets_skipped
    ]
    for name, path in selection.files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        os.chmod(destination, archive.normalised_mode(path.stat().st_mode))
    return selection, snapshot, warnings


def _report_application(
    settings: BuildSettings, selection: sources.Selection, local: list[model.PackageInfo], reporter: Reporter
) -> None:
    root = settings.source.path
    shipped = app_files.shipped_entries((name for name, _ in selection.files), root)
    packaged = settings.source.has_build_system
    omitted = app_files.left_out(root, [name.rstrip("/") for name in shipped], packaged=packaged)
    reporter.info(app_files.summary(shipped, [info.name for info in local], omitted))


def _inputs(project: Project, uv: Uv, interpreter: Path | None) -> incremental.Inputs:
    """The files that configure a build and the tools it runs, taken before the build reads
    or runs them: a record may then be older than they are, never newer (incremental.py)."""
    files = [
        project.lock_path,
        project.workspace_root / "uv.toml",
        *(folder / ".python-version" for folder in {project.root, project.workspace_root}),
        *(package.path / "pyproject.toml" for package in project.members.values()),
        project.root / "pyproject.toml",
        project.workspace_root / "pyproject.toml",
    ]
    return incremental.Inputs.of(sorted(set(files)), [tool for tool in (uv.path, interpreter) if tool])


def _recipe(
    settings: BuildSettings,
    interpreter: Path | None,
    selection: sources.Selection,
    snapshot: dict[str, list[str]] | None,
    app_dir: Path,
    inputs: incremental.Inputs,
) -> incremental.Recipe | None:
    """What a later rebuild of only the application code needs, when this build allows one."""
    if snapshot is None or any(path.is_symlink() for _, path in selection.files):
        return None
    return incremental.Recipe(
        inputs=inputs,
        root=settings.source.path,
        includes=list(settings.config.include) or None,  # None: the default, as the snapshot took it
        selection=snapshot,
        files=tuple(incremental.LocalFile(name, path, file_sha256(app_dir / name)) for name, path in selection.files),
        interpreter=interpreter if settings.config.bytecode else None,
        python_version=settings.runtime.python_version,
        runtime=settings.runtime.name,
        architecture=settings.architecture.value,
        handler=settings.handler,
    )


def _interpreter(uv: Uv, settings: BuildSettings, config: FunctionConfig) -> Path | None:
    """The target's interpreter: required for bytecode, otherwise only a help to uv."""
    version = settings.runtime.python_version
    if config.bytecode:
        return uv.find_python(version, config.python)
    try:
        return uv.find_python(version, config.python)
    except UsageError:
        return None


@contextmanager
def stage_function(
    project: Project, config: FunctionConfig, *, reporter: Reporter, lock: bool = False, out_dir: Path | None = None
) -> Iterator[StagedFunction]:
    """Stage a function (steps 1-7) in a scratch folder that lives as long as the context.

    `out_dir` is where the artifacts go (default dist/lambda/<name>/): the previous build's
    metadata there keeps a runtime chosen by default from moving while uv.lock is unchanged.
    """
    settings = resolve(project, config, out_dir or default_out_dir(project, config.name))
    uv = find_uv()
    choice = settings.runtime_choice
    warnings: list[str] = list(choice.warnings) if choice else []
    if choice is not None:
        reporter.info(f"  runtime {choice.runtime.name}: {choice.reason}")
    interpreter = _interpreter(uv, settings, config)
    inputs = _inputs(project, uv, interpreter)
    with ExitStack() as cleanup:
        # The compiler for local code starts now; its start-up overlaps the steps below.
        local_compiler = None
        if config.bytecode and interpreter is not None:
            local_compiler = cleanup.enter_context(bytecode.Compiler(interpreter))
        yield from _stage(project, config, settings, uv, interpreter, local_compiler, warnings, reporter, lock, inputs)


def _stage(
    project: Project,
    config: FunctionConfig,
    settings: BuildSettings,
    uv: Uv,
    interpreter: Path | None,
    local_compiler: bytecode.Compiler | None,
    warnings: list[str],
    reporter: Reporter,
    lock: bool,
    inputs: incremental.Inputs,
) -> Iterator[StagedFunction]:
    if lock:
        with reporter.step("locking with uv"):
            exporter.lock(uv, project, interpreter)
    build_python = interpreter  # also builds the packages that publish only an sdist
    exported = exporter.for_target(
        exporter.export(uv, project, config, interpreter), settings.runtime, settings.architecture
    )
    left_out = exporter.excluded(uv, project, config, interpreter, exported, settings.runtime, settings.architecture)
    if left_out:
        reporter.info(f"  left out by exclude-packages: {', '.join(left_out)}")
    for requirement in exported.dropped:
        log.debug("not for %s %s: %s", settings.runtime.name, settings.architecture.value, requirement)
    if not config.bytecode:
        interpreter = None
    build_paths = [project.workspace_root]
    with reporter.step(f"dependencies for {settings.runtime.name} {settings.architecture.value}"):
        deps, hit = dependencies.ensure(
            uv,
            exported.requirements,
            settings.runtime,
            settings.architecture,
            interpreter,
            build_paths,
            project.workspace_root,
            source_only=exported.source_only,
            source_builds_allowed=config.source_builds,
            build_python=build_python,
            allow_collisions=config.allow_collisions,
        )
    if hit:
        reporter.info(f"  dependencies: {len(exported.pins)} packages, from cache")
    scratch = Path(tempfile.mkdtemp(prefix="uv-lambda-"))
    try:
        workspace_dir, app_dir = scratch / "workspace", scratch / "app"
        workspace_dir.mkdir()
        app_dir.mkdir()
        with reporter.step("workspace packages and application code"):
            local_infos = _install_local_packages(
                uv, exported.local_packages, settings, workspace_dir, scratch, project.workspace_root
            )
            provided = app_files.installed_names(workspace_dir)
            selection, snapshot, app_warnings = _copy_app(settings, app_dir, provided)
            warnings += app_warnings
        _report_application(settings, selection, local_infos, reporter)
        shipped_tops = {name.split("/", 1)[0] for name, _ in selection.files}
        collisions.check_function(
            [name for name, _ in selection.files],
            dependencies.files_by_package(workspace_dir, config.allow_collisions),
            deps.top_levels,
            config.allow_collisions,
            project=settings.source.name,
            left_to_packages=[]
            if config.include
            else [name for name in sources.default_includes(settings.source.path) if name not in shipped_tops],
        )
        target = Target(settings.runtime, settings.architecture)
        check_tree(workspace_dir, target, [*build_paths, scratch])
        check_tree(app_dir, target, [scratch])
        if settings.handler:
            roots = [app_dir, workspace_dir]
            if module_file(parse_handler(settings.handler)[0], roots) is None:
                roots.append(deps.site_packages)  # a handler shipped by a dependency
            check_handler(settings.handler, roots, settings.source.path, settings.config.include)
        if local_compiler is not None:
            trees = [(folder, bytecode.python_sources(folder)) for folder in (workspace_dir, app_dir)]
            local_compiler.submit(trees)
            bytecode.raise_for_strict(local_compiler.wait())
        packages = [
            model.PackageInfo(name, version, "registry", deps.package_sizes.get(name, 0))
            for name, version in exported.pins
        ]
        if not settings.source.has_build_system:
            version = str(settings.source.pyproject["project"].get("version", "0"))
            packages.append(model.PackageInfo(settings.source.name, version, "project"))
        packages += local_infos
        # Workspace packages are built by their build backends: only a full build sees their edits.
        recipe = None if local_infos else _recipe(settings, interpreter, selection, snapshot, app_dir, inputs)
        yield StagedFunction(
            settings, deps, workspace_dir, app_dir, tuple(packages), uv.version, tuple(warnings), recipe
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _local_entries(folder: Path, scratch: Path, tag: str) -> list[archive.Entry]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return archive.compress_files(
        [archive.SourceFile(p.relative_to(folder).as_posix(), p) for p in files],
        scratch / f"{tag}.bin",
    )


def check_out_dir(out_dir: Path) -> None:
    """Fail before any work when the output folder cannot be created or written.

    Nothing is created here: a build that fails later leaves no empty folder behind.
    """
    existing = out_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        reason = "is not a folder" if not existing.is_dir() else "is not writable"
        raise UsageError(
            f"output folder {out_dir} is not writable ({existing} {reason})",
            "choose another folder with --out DIR, or fix its permissions",
        )


def _check_sizes(staged: StagedFunction, unzipped: int) -> None:
    if unzipped <= UNZIPPED_LIMIT:
        return
    largest = sorted(staged.packages, key=lambda p: p.size, reverse=True)[:10]
    listing = ", ".join(f"{p.name} {human_size(p.size)}" for p in largest if p.size)
    raise VerificationError(
        f"the function would be {human_size(unzipped)} unzipped, over Lambda's 250 MB limit (largest: {listing})",
        "drop packages with exclude-packages, or build a container image (--format image)",
    )


def build_function(
    project: Project,
    config: FunctionConfig,
    *,
    out_dir: Path | None = None,
    reporter: Reporter,
    lock: bool = False,
    record: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> model.FunctionBuild:
    """Build `config`'s artifacts into out_dir (default dist/lambda/<name>/) and return them.

    With `record` (see incremental.py), the build leaves what an app-only rebuild needs there,
    and `overrides`, the command line's settings that `config` includes.
    """
    out_dir = (out_dir or default_out_dir(project, config.name)).resolve()
    if config.format == "image":
        raise UsageError("--format image is built by `uv-lambda build --format image`", "see docs/image.md")
    check_out_dir(out_dir)
    with stage_function(project, config, reporter=reporter, lock=lock, out_dir=out_dir) as staged:
        return write_artifacts(staged, out_dir, reporter, record, overrides or {})


def write_artifacts(
    staged: StagedFunction,
    out_dir: Path,
    reporter: Reporter,
    record: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> model.FunctionBuild:
    settings = staged.settings
    deps = staged.dependencies
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output folder {out_dir}: {exc.strerror}", "choose another --out DIR") from None
    # Scratch inside the output folder: the final rename stays on one file system.
    scratch = Path(tempfile.mkdtemp(prefix=".uv-lambda-", dir=out_dir))
    try:
        local_entries = _local_entries(staged.workspace_dir, scratch, "workspace")
        app_entries = _local_entries(staged.app_dir, scratch, "app")
        local = [*local_entries, *app_entries]
        local_files, local_size = len(local), sum(entry.size for entry in local)
        # name -> (base archive copied as it is, entries after it, file count, unzipped size)
        plan: dict[str, tuple[Path | None, list[archive.Entry], int, int]] = {}
        if settings.format == "zip":
            plan["function.zip"] = (deps.archive, local, deps.file_count + local_files, deps.unzipped_size + local_size)
        if settings.format in ("layer", "split"):
            layer = deps.layer_archive(settings.runtime.site_packages + "/")
            plan["layer.zip"] = (layer, [], deps.file_count, deps.unzipped_size)
        if settings.format == "split":
            plan["app.zip"] = (None, local, local_files, local_size)
        _check_sizes(staged, sum(size for _, _, _, size in plan.values()))
        written: list[tuple[Path, Path, model.ArtifactMetadata]] = []
        for name, (base, entries, file_count, unzipped_size) in plan.items():
            temporary = scratch / name
            sha256 = archive.write_archive(temporary, entries, base=base)
            metadata = _metadata(staged, name, temporary, sha256, file_count, unzipped_size)
            written.append((temporary, out_dir / name, metadata))
        # Everything verified and written: only now replace the previous artifacts.
        for temporary, final, metadata in written:
            temporary.replace(final)
            model.write_metadata(final, metadata)
        for stale in set(model.ROLE_OF_FILE) - set(plan):
            for path in (out_dir / stale, model.metadata_path(out_dir / stale)):
                path.unlink(missing_ok=True)
        if record is not None:
            if staged.recipe is None:
                incremental.record_owner(record, overrides or {})
            else:
                artifacts = [(out_dir / name, base, entries is local) for name, (base, entries, _, _) in plan.items()]
                incremental.record(record, staged.recipe, local, artifacts, staged.warnings, overrides or {})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    build = model.read_build(out_dir)
    for artifact in build.artifacts:
        if artifact.metadata.size > ZIP_UPLOAD_LIMIT:
            reporter.warn(
                f"{artifact.path.name} is {human_size(artifact.metadata.size)}, over the 50 MB direct upload "
                "limit: deploy will upload it through S3"
            )
    for warning in staged.warnings:
        reporter.warn(warning)
    return build


def _metadata(
    staged: StagedFunction, name: str, path: Path, sha256: bytes, file_count: int, unzipped_size: int
) -> model.ArtifactMetadata:
    settings = staged.settings
    role = model.ROLE_OF_FILE[name]
    hex_digest, code_sha256 = formatted(sha256)
    if role == "layer":
        packages = tuple(p for p in staged.packages if p.source == "registry")
    elif role == "app":
        packages = tuple(p for p in staged.packages if p.source != "registry")
    else:
        packages = staged.packages
    return model.ArtifactMetadata(
        function=settings.config.name,
        format=settings.format,
        role=role,
        file=name,
        runtime=settings.runtime.name,
        architecture=settings.architecture.value,
        handler=None if role == "layer" else settings.handler,
        python_version=settings.runtime.python_version,
        platform=settings.runtime.uv_platform(settings.architecture),
        uv_version=staged.uv_version,
        sha256=hex_digest,
        code_sha256=code_sha256,
        size=path.stat().st_size,
        unzipped_size=unzipped_size,
        file_count=file_count,
        bytecode=settings.config.bytecode,
        packages=packages,
        dependencies_hash=staged.dependencies.key,
        runtime_origin=settings.runtime_choice.origin if settings.runtime_choice else "",
        runtime_reason=settings.runtime_choice.reason if settings.runtime_choice else "",
        lock_sha256=settings.lock_sha256,
        warnings=staged.warnings,
    )
