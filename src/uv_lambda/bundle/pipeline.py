"""The build pipeline: project -> exported lock -> staged trees -> verified, deterministic zips.

Steps, in order (each named in progress output and in errors):
  1. resolve settings (runtime, architecture, handler)     settings.py
  2. export the lock (third-party pins, local packages)     exporter.py
  3. third-party dependencies, from the cache or installed  dependencies.py
  4. workspace packages, built from source every time       here
  5. application code, selected by include/exclude          sources.py
  6. verify (platform, glibc, ABI, build paths, handler)    bundle/verify/platform_checks.py, bundle/verify/handler.py
  7. bytecode for local code, with the target interpreter  bytecode.py
  8. write archives to temporary names, then rename         archive.py
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypedDict, TypeVar, Unpack

from packaging.utils import parse_wheel_filename

from uv_lambda import artifact as model
from uv_lambda import atomic, cache
from uv_lambda import scratch as scratch_folders
from uv_lambda.bundle import archive, bytecode
from uv_lambda.bundle.background import Background
from uv_lambda.bundle.export import exporter
from uv_lambda.bundle.install import dependencies, source_builds
from uv_lambda.bundle.rebuild import incremental, record_file
from uv_lambda.bundle.settings import BuildSettings, resolve
from uv_lambda.bundle.stage import app_files, collisions, sources
from uv_lambda.bundle.verify.handler import check_handler, module_file, parse_handler
from uv_lambda.bundle.verify.platform_checks import Target, check_tree
from uv_lambda.config import FunctionConfig
from uv_lambda.errors import DamagedCacheEntry, UsageError
from uv_lambda.metadata_file import file_sha256, formatted, metadata_text
from uv_lambda.model import Format
from uv_lambda.project import Project, default_out_dir
from uv_lambda.runtimes import Architecture, Runtime
from uv_lambda.ui import Reporter
from uv_lambda.uv import Uv, find_uv

log = logging.getLogger(__name__)

T = TypeVar("T")


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
    app_sizes: tuple[tuple[str, int], ...] = ()  # (archive name, bytes) of each application file

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


def _local_wheels(uv: Uv, folders: tuple[Path, ...], wheels_dir: Path, cwd: Path, python: Path | None) -> list[Path]:
    """A wheel for every local package: built from a folder or an sdist, with the target's
    Python when it is found (`python`: a package's build may depend on the version, and one
    with compiled code is then named for the runtime's CPython), taken as it is when the
    dependency is a wheel file (`uv add ./vendor/x-1.0-py3-none-any.whl`)."""
    interpreter = ["--python", str(python)] if python is not None else []
    wheels_dir.mkdir(parents=True, exist_ok=True)
    for source in folders:
        if source.suffix == ".whl":
            shutil.copyfile(source, wheels_dir / source.name)
            continue
        # `uv build` of a path always runs the backend on the current sources: no stale copy.
        # An sdist is built into a wheel the same way (any PEP 517 backend).
        uv.run(
            ["build", "--wheel", *interpreter, "--out-dir", wheels_dir, "--no-create-gitignore", source],
            cwd=cwd,
            what=f"building {source.name}",
            hint=f"fix the build of {source} (try `uv build --wheel {source}`)",
        )
    return sorted(wheels_dir.glob("*.whl"))


def _install_local_packages(
    staging: _Staging, folders: tuple[Path, ...], target: Path, scratch: Path
) -> list[model.PackageInfo]:
    """Install every local package (workspace members, path dependencies) non-editable."""
    if not folders:
        return []
    uv, settings = staging.uv, staging.settings
    wheels = _local_wheels(uv, folders, scratch / "wheels", staging.project.workspace_root, staging.interpreter)
    source_builds.check_local_wheels(wheels, settings.runtime, settings.architecture)
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
        cwd=staging.project.workspace_root,
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


def selection_rules(
    project: Project, settings: BuildSettings, provided: Sequence[str], never_inputs: Sequence[Path]
) -> sources.Rules:
    """What decides the application files of `settings`' function (see bundle/stage/sources.py)."""
    config = settings.config
    return sources.Rules(
        str(settings.source.path),
        boundary=str(project.workspace_root),
        includes=config.include,
        excludes=config.exclude,
        handler_module=parse_handler(settings.handler)[0] if settings.handler else None,
        provided=provided,
        never_inputs=[str(folder) for folder in never_inputs],
        strict=config.strict,
    )


def _copy_app(selection: sources.Selection, target: Path) -> None:
    """Copy the application files into `target`, with the modes the archive gives them."""
    for chosen in selection.files:
        destination = target / chosen.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(chosen.path, destination)
        os.chmod(destination, chosen.mode)


def _report_application(
    settings: BuildSettings, selection: sources.Selection, local: list[model.PackageInfo], reporter: Reporter
) -> None:
    root = settings.source.path
    shipped = app_files.shipped_entries(selection.names(), root)
    packaged = settings.source.is_packaged
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
    staging: _Staging, rules: sources.Rules, selection: sources.Selection, app_dir: Path, facts: record_file.Facts
) -> incremental.Recipe:
    """What a later rebuild of only the application code needs."""
    settings = staging.settings
    return incremental.Recipe(
        inputs=staging.inputs,
        rules=rules,
        files=tuple(
            record_file.RecordedFile(
                chosen.name, chosen.path, file_sha256(app_dir / chosen.name), chosen.mode, chosen.stamp
            )
            for chosen in selection.files
        ),
        selection_warnings=tuple(selection.warnings),
        facts=facts,
        interpreter=staging.interpreter if settings.config.bytecode else None,
        python_version=settings.runtime.python_version,
        runtime=settings.runtime.name,
        architecture=settings.architecture.value,
        handler=settings.handler,
        handler_discovered=settings.config.handler is None,
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


@dataclass(frozen=True)
class _Staging:
    """What the steps of staging one function read (made by stage_function)."""

    project: Project
    config: FunctionConfig
    settings: BuildSettings
    uv: Uv
    interpreter: Path | None  # the target's, if found; compiles bytecode when config.bytecode
    reporter: Reporter
    inputs: incremental.Inputs
    never_inputs: tuple[Path, ...]
    background: Background  # cache writes the build need not wait for


@contextmanager
def stage_function(
    project: Project,
    config: FunctionConfig,
    *,
    reporter: Reporter,
    lock: bool = False,
    out_dir: Path | None = None,
    never_inputs: Sequence[Path] = (),
) -> Iterator[StagedFunction]:
    """Stage a function (steps 1-7) in a scratch folder that lives as long as the context.

    `out_dir` is where the artifacts go (default dist/lambda/<name>/): the previous build's
    metadata there keeps a runtime chosen by default from moving while uv.lock is unchanged.
    It and `never_inputs` (other folders the build writes to) are never application files.
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
        # Left last: the cache entries it writes overlap the rest of the build.
        background = cleanup.enter_context(Background())
        staging = _Staging(
            project,
            config,
            settings,
            uv,
            interpreter,
            reporter,
            inputs,
            (*([out_dir] if out_dir is not None else []), *never_inputs),
            background,
        )
        # The compiler for local code starts now; its start-up overlaps the steps below.
        local_compiler = None
        if config.bytecode and interpreter is not None:
            local_compiler = cleanup.enter_context(bytecode.Compiler(interpreter))
        yield from _stage(staging, local_compiler, warnings, lock)


def _exported(staging: _Staging, lock: bool) -> exporter.Exported:
    """The function's requirements for its target (locking first with `lock`)."""
    uv, project, config, settings = staging.uv, staging.project, staging.config, staging.settings
    if lock:
        with staging.reporter.step("locking with uv"):
            exporter.lock(uv, project, staging.interpreter)
    exported = exporter.for_target(
        exporter.export(uv, project, config, staging.interpreter), settings.runtime, settings.architecture
    )
    if config.exclude_packages:
        everything = exporter.export(uv, project, replace(config, exclude_packages=()), staging.interpreter)
        left_out = exporter.excluded(exported, exporter.for_target(everything, settings.runtime, settings.architecture))
        if left_out:
            staging.reporter.info(f"  left out by exclude-packages: {', '.join(left_out)}")
    for requirement in exported.dropped:
        log.debug("not for %s %s: %s", settings.runtime.name, settings.architecture.value, requirement)
    return exported


def _dependencies(staging: _Staging, exported: exporter.Exported) -> dependencies.CachedDependencies:
    """The third-party dependencies, from the cache or installed (see dependencies.py)."""
    settings, config = staging.settings, staging.config
    request = dependencies.Request(
        exported.requirements,
        settings.runtime,
        settings.architecture,
        staging.interpreter if config.bytecode else None,
        (staging.project.workspace_root,),
        staging.project.workspace_root,
        source_only=exported.source_only,
        source_builds_allowed=config.source_builds,
        build_python=staging.interpreter,  # also builds the packages that publish only an sdist
        allow_collisions=config.allow_collisions,
        lock_files={pin.partition("==")[0]: block for pin, block in exported.lock_files},
    )
    with staging.reporter.step(f"dependencies for {settings.runtime.name} {settings.architecture.value}"):
        deps, hit = dependencies.ensure(staging.uv, request, staging.background)
    if hit:
        staging.reporter.info(f"  dependencies: {len(exported.pins)} packages, from cache")
    return deps


def _stage(
    staging: _Staging, local_compiler: bytecode.Compiler | None, warnings: list[str], lock: bool
) -> Iterator[StagedFunction]:
    project, config, settings, uv = staging.project, staging.config, staging.settings, staging.uv
    exported = _exported(staging, lock)
    deps = _dependencies(staging, exported)
    build_paths = [project.workspace_root]
    scratch = scratch_folders.make(Path(tempfile.gettempdir()), "uv-lambda", hidden=False)
    try:
        workspace_dir, app_dir = scratch / "workspace", scratch / "app"
        workspace_dir.mkdir()
        app_dir.mkdir()
        with staging.reporter.step("workspace packages and application code"):
            local_infos = _install_local_packages(staging, exported.local_packages, workspace_dir, scratch)
            provided = app_files.installed_names(workspace_dir)
            rules = selection_rules(project, settings, provided, staging.never_inputs)
            selection = sources.select_application_files(rules)
            packages = [
                model.PackageInfo(name, version, "registry", deps.package_sizes.get(name, 0))
                for name, version in exported.pins
            ]
            # Before a byte of the application is read: a 300 MB file fails here, not after copying.
            installed_size = deps.unzipped_size + sum(p.stat().st_size for p in workspace_dir.rglob("*") if p.is_file())
            sources.check_selection(
                selection,
                installed_size=installed_size,
                packages=[(p.name, p.size) for p in packages],
                ships_application=settings.format.has_code,
            )
            _copy_app(selection, app_dir)
            warnings += selection.warnings
        _report_application(settings, selection, local_infos, staging.reporter)
        shipped_tops = {name.split("/", 1)[0] for name in selection.names()}
        collisions.check_function(
            selection.names(),
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
        if not settings.source.is_packaged:
            version = str(settings.source.pyproject["project"].get("version", "0"))
            packages.append(model.PackageInfo(settings.source.name, version, "project"))
        packages += local_infos
        # Workspace packages are built by their build backends: only a full build sees their edits.
        recipe = None
        if not local_infos:
            facts = record_file.Facts(
                base_warnings=tuple(warnings[: len(warnings) - len(selection.warnings)]),
                installed_tops=tuple(sorted(deps.top_levels)),
                installed_size=deps.unzipped_size,
                packages=tuple((p.name, p.size) for p in packages),
            )
            recipe = _recipe(staging, rules, selection, app_dir, facts)
        app_sizes = tuple((chosen.name, chosen.size) for chosen in selection.files)
        yield StagedFunction(
            settings, deps, workspace_dir, app_dir, tuple(packages), uv.version, tuple(warnings), recipe, app_sizes
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


class BuildOptions(TypedDict, total=False):
    """build_function's options, each given by name (all optional)."""

    out_dir: Path | None  # default dist/lambda/<name>/
    lock: bool  # run `uv lock` first
    record: Path | None  # where to leave what an app-only rebuild needs (incremental.py)
    never_inputs: Sequence[Path]  # other folders the build writes to: never application files
    overrides: Mapping[str, Any] | None  # the command line's settings that `config` includes


def build_function(
    project: Project, config: FunctionConfig, *, reporter: Reporter, **options: Unpack[BuildOptions]
) -> model.FunctionBuild:
    """Build `config`'s artifacts into out_dir (default dist/lambda/<name>/) and return them.

    With `record` (see incremental.py), the build leaves what an app-only rebuild needs there,
    and `overrides`, the command line's settings that `config` includes.
    `never_inputs`: other folders the build writes to (out_dir is one): never application files.
    """
    out_dir = (options.get("out_dir") or default_out_dir(project, config.name)).resolve()
    if config.format is Format.IMAGE:
        raise UsageError("--format image is built by `uv-lambda build --format image`", "see docs/image.md")
    check_out_dir(out_dir)
    from uv_lambda.bundle.build_lock import holding

    def build() -> model.FunctionBuild:
        with stage_function(
            project,
            config,
            reporter=reporter,
            lock=options.get("lock", False),
            out_dir=out_dir,
            never_inputs=options.get("never_inputs", ()),
        ) as staged:
            return write_artifacts(staged, out_dir, reporter, options.get("record"), options.get("overrides") or {})

    with holding(out_dir, reporter):
        scratch_folders.sweep_for_build([out_dir])
        return retrying_damaged(build)


def retrying_damaged(work: Callable[[], T]) -> T:
    """`work()`, run once more when it finds a damaged cache entry (while copying the
    dependency archive, say): the entry is dropped first, so the second run makes it anew."""
    try:
        return work()
    except DamagedCacheEntry as exc:
        cache.miss(cache.entry_of(exc.entry), exc.reason)
    return work()


def write_artifacts(
    staged: StagedFunction,
    out_dir: Path,
    reporter: Reporter,
    record: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> model.FunctionBuild:
    created = _make_folder(out_dir)
    try:
        _write_artifacts(staged, out_dir, record, overrides or {})
    except BaseException:
        # A build that fails leaves no empty output folder behind (the previous artifacts
        # of an existing one are untouched: nothing was renamed over them).
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    build = model.read_build(out_dir)
    for artifact in build.artifacts:
        upload = sources.upload_warning(artifact.path.name, artifact.metadata.size)
        if upload:
            reporter.warn(upload)
    for warning in staged.warnings:
        reporter.warn(warning)
    return build


def _make_folder(out_dir: Path) -> list[Path]:
    """Create `out_dir` and its missing parents; the folders created, outermost first."""
    missing = [folder for folder in (out_dir, *out_dir.parents) if not folder.exists()][::-1]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        for folder in reversed(missing):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise UsageError(f"cannot create output folder {out_dir}: {exc.strerror}", "choose another --out DIR") from None
    return missing


def _write_artifacts(staged: StagedFunction, out_dir: Path, record: Path | None, overrides: Mapping[str, Any]) -> None:
    # What a failure to write (a full disk) is about: the artifact, not a scratch file.
    writing = out_dir / staged.settings.format.files[0]
    try:
        scratch = scratch_folders.make(out_dir, "uv-lambda")
    except OSError as exc:
        raise atomic.with_path(exc, writing) from None
    try:
        _write_into(staged, out_dir, record, overrides, scratch)
    except OSError as exc:
        named = exc.filename is not None and Path(exc.filename).parent == out_dir  # an artifact already
        raise (exc if named else atomic.with_path(exc, writing)) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class _Zip:
    """One zip to write: a base archive copied as it is, then entries after it."""

    base: Path | None
    base_sha256: str | None  # the base's sha256, checked as it is copied
    entries: list[archive.Entry]
    file_count: int
    unzipped_size: int


def _write_into(
    staged: StagedFunction, out_dir: Path, record: Path | None, overrides: Mapping[str, Any], scratch: Path
) -> None:
    settings = staged.settings
    deps = staged.dependencies
    local_entries = _local_entries(staged.workspace_dir, scratch, "workspace")
    app_entries = _local_entries(staged.app_dir, scratch, "app")
    local = [*local_entries, *app_entries]
    local_files, local_size = len(local), sum(entry.size for entry in local)
    plan: dict[str, _Zip] = {}  # file name -> what goes into it
    if settings.format is Format.ZIP:
        plan["function.zip"] = _Zip(
            deps.archive, deps.archive_sha256, local, deps.file_count + local_files, deps.unzipped_size + local_size
        )
    if settings.format.has_layer:
        layer, layer_sha256 = deps.layer_archive(settings.runtime.site_packages + "/")
        plan["layer.zip"] = _Zip(layer, layer_sha256, [], deps.file_count, deps.unzipped_size)
    if settings.format is Format.SPLIT:
        plan["app.zip"] = _Zip(None, None, local, local_files, local_size)
    sources.check_unzipped_size(
        sum(zip_.unzipped_size for zip_ in plan.values()),
        [*((p.name, p.size) for p in staged.packages), *staged.app_sizes],
    )
    written: list[tuple[str | os.PathLike[str], str | os.PathLike[str]]] = []
    for name, zip_ in plan.items():
        temporary = scratch / name
        try:
            sha256 = archive.write_archive(temporary, zip_.entries, base=zip_.base, base_sha256=zip_.base_sha256)
            metadata = _metadata(staged, name, temporary, sha256, zip_.file_count, zip_.unzipped_size)
            # Scratch, read back by commit_all below, which fsyncs it before the rename.
            (scratch / f"{name}.json").write_bytes(metadata_text(metadata).encode())
        except OSError as exc:
            raise atomic.with_path(exc, out_dir / name) from None
        written += [(temporary, out_dir / name), (scratch / f"{name}.json", model.metadata_path(out_dir / name))]
    # Everything verified and written: only now replace the previous artifacts.
    atomic.commit_all(written)
    for stale in set(model.ROLE_OF_FILE) - set(plan):
        for path in (out_dir / stale, Path(model.metadata_path(out_dir / stale))):
            path.unlink(missing_ok=True)
    if record is not None:
        if staged.recipe is None:
            incremental.record_owner(record, overrides)
        else:
            artifacts = [(out_dir / name, zip_.base, zip_.entries is local) for name, zip_ in plan.items()]
            bases = {str(zip_.base): zip_.base_sha256 for zip_ in plan.values() if zip_.base and zip_.base_sha256}
            incremental.record(record, staged.recipe, local, artifacts, overrides, bases)


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
