"""The local-run use case: what `invoke` and `serve` run, opened as a LocalFunction.

Three sources, one way to open them (`LocalFunction.open`, or `open_layout` for an image's
tree, unpacked by image/unpack_pulled.py): the project's function, built into the folder
`build` and `deploy` share (app/build.py); a build folder or zip named with --artifact; a
pushed image (--image).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uv_lambda.config import FunctionConfig
from uv_lambda.errors import UsageError
from uv_lambda.project import Project
from uv_lambda.ui import Reporter

if TYPE_CHECKING:
    from uv_lambda.emulator.early_start import EarlyStart
    from uv_lambda.emulator.function import LocalFunction, RunOptions
    from uv_lambda.emulator.layout import Layout
    from uv_lambda.image.auth import Credentials
    from uv_lambda.image.reference import Reference
    from uv_lambda.model import Function

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
    request: LocalRequest,
    options: RunOptions,
    reporter: Reporter,
    select: SelectFunction | None = None,
    early: EarlyStart | None = None,
) -> LocalFunction:
    """The LocalFunction `request` names, run with `options`; `select` gives the project's
    function when that is what runs. A one-shot run (`options.draft` off) starts its
    environment while it builds; `early`: what the function it replaces started for it
    (serve --watch). See emulator/early_start.py."""
    if options.pass_credentials:
        from uv_lambda.emulator.aws_credentials import prefetch

        prefetch()  # while the build runs
    options.probe_sandbox()  # while the configuration is read
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
    return _open_built(request, options, reporter, select(), (extra_layers, early))


def _open_built(
    request: LocalRequest,
    options: RunOptions,
    reporter: Reporter,
    function: tuple[Project, FunctionConfig],
    extra: tuple[Sequence[Path], EarlyStart | None],
) -> LocalFunction:
    """The project's function, built (or brought up to date) for this machine first; `extra`:
    the extra layers, and the environment started early, if any."""
    from uv_lambda.app.build import build_for_local_run, local_run_folder
    from uv_lambda.artifact import read_build
    from uv_lambda.config import with_overrides
    from uv_lambda.emulator.function import LocalFunction, function_of_build

    project, config = function
    extra_layers, early = extra
    one_shot = not options.draft
    # The run's flags apply to the run, not to the build (a runtime is the build's).
    flags = {key: value for key, value in request.flags.items() if key != "runtime"}
    run_config = with_overrides(config, **flags)
    where = local_run_folder(project, config, reporter, _build_settings(project, config, flags))
    if one_shot and early is None:  # its environment starts while the build runs
        early = _start_early(lambda: function_of_build(read_build(where.folder), run_config), extra_layers, options)
    # The artifact and build record that `build` and `deploy` share (app/build.py): an edit
    # of application code between two runs rebuilds only the edited files.
    try:
        with reporter.step(f"building {config.name}"):
            # A one-shot run writes the build record while its function starts (see below).
            build = build_for_local_run(project, config, reporter, where, put_off_record=one_shot).build
    except BaseException:
        if one_shot and early is not None:
            early.cancel()
        raise
    built, code, layers = function_of_build(build, run_config)
    opened = LocalFunction.open(built, code, [*layers, *extra_layers], options, early)
    if one_shot and early is not None:
        opened.prewarm(early)  # the environment started early, when it fits
    if one_shot:
        _write_record_meanwhile(early)
    return opened


def _build_settings(project: Project, config: FunctionConfig, flags: Mapping[str, Any]) -> dict[str, Any]:
    """The run's flags a build needs too: --handler, when the project names no handler and
    none is found in its files (a build checks the handler it ships, so it would fail)."""
    from uv_lambda.bundle.verify.handler import discover_handler

    handler = flags.get("handler")
    if handler is None or config.handler is not None or discover_handler(project.source(config).path):
        return {}
    return {"handler": handler}


_record_writes: list[tuple[threading.Thread, list[BaseException]]] = []
_GATE_WAIT_SECONDS = 5.0  # at most: an environment that never opens its gate holds nothing back


def _write_record_meanwhile(early: EarlyStart | None) -> None:
    """The record of an app-only rebuild, written on a thread while the function starts: the
    run itself does not need it (bundle/rebuild/record_file.py), and the process only waits
    for the function meanwhile. Once the environment started `early` has its gate opened:
    before that, the thread would hold the interpreter the opening needs. `finish_local_run`
    waits for it."""
    from uv_lambda.bundle.rebuild import record_file

    if not record_file.any_put_off():
        return
    failed: list[BaseException] = []

    def write() -> None:
        if early is not None:
            early.settled.wait(_GATE_WAIT_SECONDS)
        try:
            record_file.write_put_off()
        except Exception as exc:  # reported by finish_local_run, in the main thread
            failed.append(exc)

    thread = threading.Thread(target=write, name="build-record", daemon=True)
    _record_writes.append((thread, failed))
    thread.start()


def finish_local_run() -> list[str]:
    """Wait for what a one-shot run left on threads (the build record, the unpack cache's
    tidying) before its process ends; warnings about what could not be done."""
    from uv_lambda.bundle.rebuild import record_file
    from uv_lambda.emulator.unpack_cache import finish_background_work

    failed: list[BaseException] = []
    while _record_writes:
        thread, errors = _record_writes.pop()
        thread.join()
        failed += errors
    try:
        record_file.write_put_off()  # the run ended before its function started
    except Exception as exc:
        failed.append(exc)
    finish_background_work()
    return [f"the build record was not written ({exc}): the next build runs the full pipeline" for exc in failed]


def _start_early(
    built: Callable[[], tuple[Function, Path, list[Path]]], extra_layers: Sequence[Path], options: RunOptions
) -> EarlyStart | None:
    """An environment of the build as it is now, started on its unpacked tree before the build
    runs (emulator/early_start.py); None when there is no build yet, or none that runs here."""
    from uv_lambda.emulator.function import start_early
    from uv_lambda.errors import UvLambdaError

    try:
        function, code, layers = built()
        return start_early(function, code, [*layers, *extra_layers], options)
    except (UvLambdaError, OSError, ValueError) as exc:  # the run says what is wrong, after its build
        import logging

        logging.getLogger(__name__).debug("no early start: %s", exc)
        return None


def _open_image(image: str, request: LocalRequest, options: RunOptions, reporter: Reporter) -> LocalFunction:
    """The LocalFunction of `--image REF`: pulled, its /var/task and /opt unpacked here."""
    from uv_lambda.config import with_overrides
    from uv_lambda.emulator.runtime_folder import host_architecture
    from uv_lambda.image.reference import parse_reference

    if request.artifact is not None or request.layers:
        flag = "--artifact" if request.artifact is not None else "--layer"
        raise UsageError(f"--image cannot be combined with {flag}", "the image holds the code and its layers")
    reference = parse_reference(image)
    # The platform this machine runs: an image index offers both.
    config = FunctionConfig(name=reference.repository.rpartition("/")[2], architecture=host_architecture())
    with reporter.step(f"pulling {image}"):
        return open_image(reference, with_overrides(config, **request.flags), options=options)


def open_image(
    reference: Reference,
    config: FunctionConfig,
    *,
    options: RunOptions | None = None,
    cache_dir: Path | None = None,
    registry_credentials: Credentials | None = None,
) -> LocalFunction:
    """A LocalFunction serving the pushed image for `config.architecture`: pulled, its
    /var/task and /opt unpacked here (image/unpack_pulled.py) and opened like a build's."""
    from uv_lambda.emulator.function import check_architecture
    from uv_lambda.emulator.layout import Layout
    from uv_lambda.image.unpack_pulled import unpack_pulled
    from uv_lambda.runtimes import get_runtime

    if config.runtime is not None:
        get_runtime(config.runtime)  # an unknown runtime fails before any download
    check_architecture(config.architecture)
    root, config = unpack_pulled(reference, config, cache_dir=cache_dir, registry_credentials=registry_credentials)
    layout = Layout(root, root / "var" / "task", root / "opt")
    try:
        return open_layout(layout, config, options)
    except BaseException:
        layout.remove()
        raise


def open_layout(layout: Layout, config: FunctionConfig, options: RunOptions | None = None) -> LocalFunction:
    """A LocalFunction over an unpacked /var/task (and /opt); closing it removes `layout`.
    `config` names the runtime and the handler."""
    from uv_lambda.emulator.function import LocalFunction, RunOptions
    from uv_lambda.model import Function

    return LocalFunction.open_layout(Function.configured(config), layout, options or RunOptions())
