"""The local-run use case: what `invoke` and `serve` run, opened as a LocalFunction.

Three sources, one way to open them (`LocalFunction.open`, or `open_layout` for an image's
unpacked tree): the project's function, built into the folder `build` and `deploy` share
(app/build.py); a build folder or zip named with --artifact; a pushed image (--image).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uv_lambda.config import FunctionConfig
from uv_lambda.errors import UsageError
from uv_lambda.project import Project
from uv_lambda.ui import Reporter

if TYPE_CHECKING:
    from uv_lambda.emulator.function import LocalFunction, RunOptions

# The project's function: called (the project read) only when neither --artifact nor --image is given.
SelectFunction = Callable[[], tuple[Project, FunctionConfig]]


@dataclass(frozen=True)
class LocalRequest:
    """What to run here: --artifact, --image or (neither) the project's function, and the
    command line's settings for the run (handler, runtime, timeout, memory, concurrency)."""

    artifact: Path | None = None
    image: str | None = None
    layers: Sequence[Path] = field(default_factory=list)  # extra layer zips, after the built layer
    flags: dict[str, Any] = field(default_factory=dict)  # given settings, by FunctionConfig field

    def __post_init__(self) -> None:
        from uv_lambda.config import check_override

        # Checked (and converted) as the configuration is, before anything is built or pulled.
        checked = {key: check_override(key, value) for key, value in self.flags.items() if value is not None}
        object.__setattr__(self, "flags", checked)


def open_local(
    request: LocalRequest, options: RunOptions, reporter: Reporter, select: SelectFunction | None = None
) -> LocalFunction:
    """The LocalFunction `request` names, run with `options`; `select` gives the project's
    function when that is what runs."""
    if options.pass_credentials:
        from uv_lambda.emulator.aws_credentials import prefetch

        prefetch()  # while the build runs
    if request.image is not None:
        return _open_image(request.image, request, options, reporter)
    from uv_lambda.emulator.find_artifact import check_layers, function_from_path
    from uv_lambda.emulator.function import LocalFunction

    extra_layers = check_layers(request.layers)
    if request.artifact is not None:
        function, code, layers = function_from_path(request.artifact, request.flags)
        return LocalFunction.open(function, code, [*layers, *extra_layers], options)
    if select is None:
        raise TypeError("open_local needs `select` when neither an artifact nor an image is named")
    return _open_built(request, options, reporter, select(), extra_layers)


def _open_built(
    request: LocalRequest,
    options: RunOptions,
    reporter: Reporter,
    function: tuple[Project, FunctionConfig],
    extra_layers: Sequence[Path],
) -> LocalFunction:
    """The project's function, built (or brought up to date) for this machine first."""
    from uv_lambda.app.build import build_for_local_run
    from uv_lambda.config import with_overrides
    from uv_lambda.emulator.function import LocalFunction, function_of_build

    project, config = function
    # The artifact and build record that `build` and `deploy` share (app/build.py): an edit
    # of application code between two runs rebuilds only the edited files.
    with reporter.step(f"building {config.name}"):
        build = build_for_local_run(project, config, reporter).build
    # The run's flags apply to the run, not to the build (a runtime is the build's).
    flags = {key: value for key, value in request.flags.items() if key != "runtime"}
    built, code, layers = function_of_build(build, with_overrides(config, **flags))
    return LocalFunction.open(built, code, [*layers, *extra_layers], options)


def _open_image(image: str, request: LocalRequest, options: RunOptions, reporter: Reporter) -> LocalFunction:
    """The LocalFunction of `--image REF`: pulled, its /var/task and /opt unpacked here."""
    from uv_lambda.config import with_overrides
    from uv_lambda.emulator.runtime_folder import host_architecture
    from uv_lambda.image.local import open_image
    from uv_lambda.image.reference import parse_reference

    if request.artifact is not None or request.layers:
        flag = "--artifact" if request.artifact is not None else "--layer"
        raise UsageError(f"--image cannot be combined with {flag}", "the image holds the code and its layers")
    reference = parse_reference(image)
    # The platform this machine runs: an image index offers both.
    config = FunctionConfig(name=reference.repository.rpartition("/")[2], architecture=host_architecture())
    with reporter.step(f"pulling {image}"):
        return open_image(reference, with_overrides(config, **request.flags), options=options)
