"""The build use case: one artifact folder, one build record, whichever command builds it.

`build`, `invoke`, `serve` and `deploy` all build a function into `dist/lambda/<fn>/` and
leave the same record (bundle/rebuild/incremental.py, one per folder), so any of them can follow any
other with an app-only rebuild. The record says which command-line settings built the
folder; a command whose settings come out the same under the current configuration reuses
it, another one builds the full pipeline and records its own.

A local run (`invoke`, `serve`) builds what the configuration says, for this machine's
architecture. When the folder holds something else (`build --arch arm64`, an arm64
function on an x86_64 machine, `build --runtime ...`), the local run builds into a folder
of its own in the cache: an artifact the user built is never replaced behind their back.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uv_lambda.artifact import FunctionBuild, read_build
from uv_lambda.bundle.rebuild import incremental
from uv_lambda.config import FunctionConfig, with_overrides
from uv_lambda.errors import UvLambdaError
from uv_lambda.project import Project, default_out_dir
from uv_lambda.ui import Reporter


@dataclass(frozen=True)
class FolderBuild:
    build: FunctionBuild
    changed: list[str] | None  # None: the full pipeline ran; else the application files rebuilt


@dataclass(frozen=True)
class BuildOptions:
    """How a build into a folder runs, beyond the function's configuration."""

    overrides: Mapping[str, Any] = field(default_factory=dict)  # the command line's build flags
    lock: bool = False  # `uv lock` first when uv.lock is missing or stale
    full: bool = False  # the full pipeline, never an app-only rebuild (-v: every step shown)
    # Other folders this build writes to; like the output folder, never application files.
    never_inputs: Sequence[Path] = ()
    # An app-only rebuild's record is written later (bundle/rebuild/record_file.write_put_off):
    # a one-shot local run writes it while its function starts.
    put_off_record: bool = False


def same_settings(config: FunctionConfig, first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Whether two sets of command-line settings build the same thing on top of `config`."""
    try:
        return with_overrides(config, **first) == with_overrides(config, **second)
    except (ValueError, TypeError, UvLambdaError):  # settings this version does not know or refuses
        return False


def build_into(
    project: Project, config: FunctionConfig, out_dir: Path, reporter: Reporter, options: BuildOptions = BuildOptions()
) -> FolderBuild:
    """Bring `out_dir` up to date with `config` plus the command line's overrides: an app-only
    rebuild when the folder's record allows one (never with `options.full`), else the full pipeline."""
    overrides, never_inputs = options.overrides, options.never_inputs
    full, lock = options.full, options.lock
    given = {key: value for key, value in overrides.items() if value is not None}
    record = incremental.record_path(out_dir)
    recorded = incremental.recorded_overrides(record)
    if not full and recorded is not None and same_settings(config, recorded, given):
        try:
            rebuilt = incremental.rebuild_at(record, [out_dir, *never_inputs], put_off_record=options.put_off_record)
        except OSError:
            rebuilt = None  # a file vanished or cannot be read: the full build says what is wrong
        if rebuilt is not None:
            if rebuilt.changed:
                more = f" and {len(rebuilt.changed) - 3} more" if len(rebuilt.changed) > 3 else ""
                reporter.info(f"  {', '.join(rebuilt.changed[:3])}{more} changed, the rest reused")
            else:
                reporter.info(f"  {config.name} is up to date")
            for warning in rebuilt.warnings:
                reporter.warn(warning)
            return FolderBuild(read_build(out_dir), rebuilt.changed)
    from uv_lambda.bundle.pipeline import build_function  # the full pipeline: only imported when it runs

    build = build_function(
        project,
        with_overrides(config, **given),
        out_dir=out_dir,
        reporter=reporter,
        lock=lock,
        record=record,
        never_inputs=never_inputs,
        overrides=given,
    )
    return FolderBuild(build, None)


def local_settings(config: FunctionConfig) -> dict[str, Any]:
    """What a local run changes in the configuration: the architecture, to this machine's."""
    from uv_lambda.emulator.runtime_folder import host_architecture

    host = host_architecture()
    return {} if config.architecture is host else {"architecture": host}


def local_folder(shared: Path) -> Path:
    """A local run's own build of the function whose folder is `shared` (in the cache)."""
    from uv_lambda.cache import cache_root

    key = hashlib.sha256(os.path.realpath(shared).encode()).hexdigest()[:24]
    return cache_root() / "local-builds" / key


def holds_settings(folder: Path, project: Project, config: FunctionConfig, overrides: Mapping[str, Any]) -> bool:
    """Whether a build with `overrides` may write into `folder`: it is empty, or its artifact was
    built with the same settings (by its record; without one, by its metadata)."""
    recorded = incremental.recorded_overrides(incremental.record_path(folder))
    if recorded is not None:
        return same_settings(config, recorded, overrides)
    try:
        existing = read_build(folder)
    except (UvLambdaError, OSError, ValueError):  # no build (or no readable one) in the folder
        return not overrides  # a run for another architecture leaves an empty folder empty
    # Written without a record (an older uv-lambda, a deleted cache): what its metadata says,
    # against the settings a build into the folder would resolve (its default runtime included).
    from uv_lambda.bundle.settings import resolve

    wanted_config = with_overrides(config, **overrides)
    wanted = resolve(project, wanted_config, folder)
    return existing.format == wanted.format and all(
        artifact.metadata.architecture == wanted.architecture.value
        and artifact.metadata.runtime == wanted.runtime.name
        and artifact.metadata.bytecode == wanted_config.bytecode
        and artifact.metadata.handler in (None, wanted.handler)
        for artifact in existing.artifacts
    )


@dataclass(frozen=True)
class LocalRunFolder:
    folder: Path
    overrides: dict[str, Any]  # what the run changes in the configuration (local_settings)


def local_run_folder(
    project: Project, config: FunctionConfig, reporter: Reporter, given: Mapping[str, Any] | None = None
) -> LocalRunFolder:
    """Where `invoke` and `serve` build: the shared folder when it holds these settings.
    `given`: settings of the command line the build takes (see app/local.py)."""
    overrides = {**(given or {}), **local_settings(config)}
    shared = default_out_dir(project, config.name)
    folder = shared
    if not holds_settings(shared, project, config, overrides):
        folder = local_folder(shared)
        why = (
            f"{config.name} is built for {config.architecture} and this machine runs {overrides['architecture']}"
            if "architecture" in overrides
            else f"{shared} holds a build with other settings"
        )
        reporter.info(f"{why}: running a build of its own ({folder}); {shared} is left as it is")
    return LocalRunFolder(folder, overrides)


def build_for_local_run(
    project: Project,
    config: FunctionConfig,
    reporter: Reporter,
    where: LocalRunFolder | None = None,
    *,
    put_off_record: bool = False,
) -> FolderBuild:
    """The build `invoke` and `serve` run, in `where` (default: local_run_folder's);
    `put_off_record`: see BuildOptions."""
    where = where or local_run_folder(project, config, reporter)
    options = BuildOptions(overrides=where.overrides, put_off_record=put_off_record)
    return build_into(project, config, where.folder, reporter, options)


def remember_command(argv: list[str], out_dir: Path, never_inputs: Sequence[Path] = ()) -> None:
    """Let the next `uv-lambda <argv>` find the folder's record before it loads anything else
    (cli/_rebuild.py), when the record allows an app-only rebuild."""
    from uv_lambda.bundle.rebuild import record_file

    record = str(incremental.record_path(out_dir))
    recorded = record_file.read(record)
    if isinstance(recorded, record_file.BuildRecord):
        outputs = [os.path.realpath(folder) for folder in (out_dir, *never_inputs)]
        record_file.remember(argv, record, recorded.overrides, recorded.inputs, outputs)
