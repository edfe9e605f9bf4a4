"""The local-run use case: what `invoke` and `serve` run, opened as a LocalFunction.

Three sources, one way to open them (`LocalFunction.open`, or `open_layout` for an image's
unpacked tree): the project's function, built into the folder `build` and `deploy` share
(app/build.py); a build folder or zip named with --artifact; a pushed image (--image).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from uv_lambda.config import FunctionConfig
from uv_lambda.errors import UsageError
from uv_lambda.project import Project
from uv_lambda.ui import Reporter

if TYPE_CHECKING:
    from uv_lambda.emulator.function import LocalFunction, RunOptions

DEFAULT_CONCURRENCY = 4  # environments, when neither the flag nor the configuration says


def _check_range(value: int | None, low: int, high: int, flag: str) -> None:
    if value is not None and not low <= value <= high:
        raise UsageError(f"{flag} {value} is out of range", f"Lambda allows {low} to {high}")


@dataclass(frozen=True)
class LocalRequest:
    """What to run here: --artifact, --image or (neither) the project's function, with the
    command line's overrides (checked when made, before anything is built or pulled)."""

    artifact: Path | None = None
    image: str | None = None
    layers: Sequence[Path] = field(default_factory=list)  # extra layer zips, after the built layer
    handler: str | None = None
    runtime: str | None = None  # of an artifact without metadata, or an image
    timeout: int | None = None
    memory: int | None = None

    def __post_init__(self) -> None:
        _check_range(self.timeout, 1, 900, "--timeout")
        _check_range(self.memory, 128, 10240, "--memory")


# The project's function: called (the project read) only when neither --artifact nor --image is given.
SelectFunction = Callable[[], tuple[Project, FunctionConfig]]


def open_local(
    request: LocalRequest, options: RunOptions, reporter: Reporter, select: SelectFunction | None = None
) -> LocalFunction:
    """The LocalFunction `request` names, run with `options` (`concurrency` 0: the
    configured number); `select` gives the project's function when that is what runs."""
    if options.pass_credentials:
        from uv_lambda.emulator.aws_credentials import prefetch

        prefetch()  # while the build runs
    if request.image is not None:
        return _open_image(request.image, request, options, reporter)
    from uv_lambda.emulator.find_artifact import check_layers

    extra_layers = check_layers(request.layers)
    if request.artifact is not None:
        return _open_artifact(request.artifact, request, options, extra_layers)
    if select is None:
        raise TypeError("open_local needs `select` when neither an artifact nor an image is named")
    return _open_built(request, options, reporter, select(), extra_layers)


def _open_artifact(
    artifact: Path, request: LocalRequest, options: RunOptions, extra_layers: Sequence[Path]
) -> LocalFunction:
    from dataclasses import replace

    from uv_lambda.emulator.find_artifact import settings_from_path
    from uv_lambda.emulator.function import LocalFunction

    settings, code, layers = settings_from_path(
        artifact,
        handler=request.handler,
        runtime=request.runtime,
        memory_mb=request.memory or 128,
        timeout_seconds=request.timeout or 3,
    )
    options = replace(options, concurrency=options.concurrency or DEFAULT_CONCURRENCY)
    return LocalFunction.open(settings, code, [*layers, *extra_layers], options)


def _open_built(
    request: LocalRequest,
    options: RunOptions,
    reporter: Reporter,
    function: tuple[Project, FunctionConfig],
    extra_layers: Sequence[Path],
) -> LocalFunction:
    """The project's function, built (or brought up to date) for this machine first."""
    from dataclasses import replace

    from uv_lambda.app.build import build_for_local_run
    from uv_lambda.emulator.function import LocalFunction, settings_from_build

    project, config = function
    # The artifact and build record that `build` and `deploy` share (app/build.py): an edit
    # of application code between two runs rebuilds only the edited files.
    with reporter.step(f"building {config.name}"):
        build = build_for_local_run(project, config, reporter).build
    settings, code, layers = settings_from_build(
        build,
        name=config.aws_name,
        handler=request.handler,
        memory_mb=request.memory or config.memory,
        timeout_seconds=request.timeout or config.timeout,
        environment=config.environment,
        ephemeral_storage_mb=config.ephemeral_storage,
    )
    options = replace(options, concurrency=options.concurrency or config.concurrency, sdk=config.runtime_sdk)
    return LocalFunction.open(settings, code, [*layers, *extra_layers], options)


def _open_image(image: str, request: LocalRequest, options: RunOptions, reporter: Reporter) -> LocalFunction:
    """The LocalFunction of `--image REF`: pulled, its /var/task and /opt unpacked here."""
    from dataclasses import replace

    from uv_lambda.emulator.runtime_folder import host_machine
    from uv_lambda.image.local import ImageRun, open_image
    from uv_lambda.image.reference import parse_reference

    if request.artifact is not None or request.layers:
        flag = "--artifact" if request.artifact is not None else "--layer"
        raise UsageError(f"--image cannot be combined with {flag}", "the image holds the code and its layers")
    reference = parse_reference(image)
    run = ImageRun(
        name=reference.repository.rpartition("/")[2],
        runtime=request.runtime,
        # The platform this machine runs: an image index offers both.
        architecture="arm64" if host_machine() == "aarch64" else "x86_64",
        handler=request.handler,
        memory_mb=request.memory or 128,
        timeout_seconds=request.timeout or 3,
    )
    # An image is run as pulled: the draft of the next tree (emulator/unpack_cache.py) and
    # the runtime-sdk setting are a project build's.
    options = replace(options, concurrency=options.concurrency or DEFAULT_CONCURRENCY, sdk="bundled", draft=True)
    with reporter.step(f"pulling {image}"):
        return open_image(reference, run, options)
