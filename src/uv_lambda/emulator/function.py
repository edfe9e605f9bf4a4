"""A built function made runnable here: unpacked artifacts + runtime folder + a pool.

This is the entry point the `invoke` and `serve` commands use: `invoke` blocks its thread,
`submit` runs on the event loop (`serve`).
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from uv_lambda.artifact import Artifact, FunctionBuild
from uv_lambda.emulator.aws_credentials import caller_credentials, caller_region
from uv_lambda.emulator.environment import InvocationResult
from uv_lambda.emulator.invocation import Invocation
from uv_lambda.emulator.layout import Layout
from uv_lambda.emulator.limits import MAX_SYNC_PAYLOAD
from uv_lambda.emulator.pool import Pool, ResultCallback
from uv_lambda.emulator.runtime_folder import ensure_runtime_folder, host_machine
from uv_lambda.emulator.sandbox import Sandbox, choose, default_mode
from uv_lambda.emulator.spec import FunctionSpec
from uv_lambda.emulator.unpack_cache import current_tree, unpack
from uv_lambda.errors import UsageError
from uv_lambda.runtimes import get_architecture, get_runtime
from uv_lambda.uv import find_uv

if TYPE_CHECKING:
    from uv_lambda.emulator.early_start import EarlyStart

log = logging.getLogger(__name__)


class PayloadError(UsageError):
    """The event cannot be sent to Lambda: not JSON, or over the payload limit."""


@dataclass(frozen=True)
class RunOptions:
    """How to run the function locally, beyond what its configuration says."""

    concurrency: int = 1
    with_boto3: bool = True  # the runtime folder holds boto3, as Lambda's /var/runtime does
    pass_credentials: bool = True
    python: str | None = None  # an explicit interpreter of the runtime's Python version
    region: str | None = None
    # "auto" (bwrap where it works), "require", "off"; None: $UV_LAMBDA_SANDBOX, else auto.
    sandbox: str | None = None
    sdk: str = "bundled"  # runtime-sdk: the boto3 of the runtime folder
    # Link the next tree while this one runs (emulator/unpack_cache.py): a server runs again
    # while it holds this tree; a one-shot run leaves it to be updated in place instead.
    draft: bool = True

    def choose_sandbox(self, interpreter: Path, python_version: str) -> Sandbox:
        return choose(self.sandbox or default_mode(), interpreter, python_version)


@dataclass(frozen=True)
class FunctionSettings:
    """What the function is: from its build metadata and its [tool.uv-lambda] settings."""

    name: str
    handler: str
    runtime: str  # "python3.13"
    architecture: str = "x86_64"
    memory_mb: int = 128
    timeout_seconds: int = 3
    environment: Mapping[str, str] = field(default_factory=dict)
    ephemeral_storage_mb: int = 512


def check_payload(payload: bytes, limit: int = MAX_SYNC_PAYLOAD, *, parse: bool = True) -> None:
    """Lambda's checks of an event: at most `limit` bytes, and JSON (unless we made it)."""
    if len(payload) > limit:
        raise PayloadError(
            f"the event is {len(payload):,} bytes, over Lambda's limit of {limit:,} bytes",
            "send a smaller event (large data belongs in S3, passed by reference)",
        )
    if not parse:
        return
    try:
        json.loads(payload or b"null")
    except UnicodeDecodeError as exc:
        raise PayloadError(
            f"the event is not UTF-8 (byte 0x{payload[exc.start]:02x} at offset {exc.start})",
            "Lambda only accepts JSON events in UTF-8: save the file as UTF-8",
        ) from None
    except ValueError as exc:
        raise PayloadError(f"the event is not JSON: {exc}", "Lambda only accepts JSON events") from None


def check_architecture(architecture: str) -> None:
    wanted = get_architecture(architecture).machine
    host = host_machine()
    if wanted != host:
        raise UsageError(
            f"the function is built for {architecture} ({wanted}) and this machine is {host}: it cannot run here",
            f"build it for {'x86_64' if host == 'x86_64' else 'arm64'} to run it locally "
            "(architecture in [tool.uv-lambda]), and keep the other architecture for deploys",
        )


class LocalFunction:
    def __init__(self, spec: FunctionSpec, concurrency: int, options: RunOptions | None = None) -> None:
        self.spec = spec
        self.options = options or RunOptions(concurrency=concurrency)
        self.pool = Pool(spec, concurrency)

    @classmethod
    def open(
        cls,
        settings: FunctionSettings,
        code: Path,
        layers: Sequence[Path] = (),
        options: RunOptions | None = None,
        early: EarlyStart | None = None,
    ) -> LocalFunction:
        """`early`: an environment started while the function was rebuilt (early_start.py)."""
        options = options or RunOptions()
        runtime = get_runtime(settings.runtime)
        check_architecture(settings.architecture)
        lent = early.lends(runtime.python_version, options) if early is not None else None
        if lent is not None:  # checked before the build
            parts = RuntimeParts(lent.python_version, lent.interpreter, lent.sandbox, lent.runtime_folder)
        else:
            parts = _runtime_parts(runtime.name, runtime.python_version, options)
        if early is not None:
            early.reached_gate()  # before the unpack updates the tree it runs on
        layout: Layout = unpack(code, layers, draft=options.draft)
        credentials = {}
        if options.pass_credentials:  # looked up once (the lookup may import botocore)
            found = early.credentials if early is not None else None
            credentials = found if found is not None else caller_credentials()
        return cls(_spec(settings, parts, layout, options, credentials), options.concurrency, options)

    def submit(
        self,
        payload: bytes,
        on_done: ResultCallback,
        *,
        client_context: str | None = None,
        checked: bool = False,
    ) -> None:
        """Start one event on the event loop's thread; `on_done` gets its result there.

        Raises PayloadError (and PoolClosed) at once; `checked`: the caller already knows
        it is JSON (only the size is checked).
        """
        check_payload(payload, parse=not checked)
        self.pool.submit(Invocation(payload, client_context=client_context), on_done)

    def invoke(
        self,
        payload: bytes,
        *,
        client_context: str | None = None,
        request_id: str | None = None,
        checked: bool = False,
    ) -> InvocationResult:
        """Run one event and wait for it (from any thread but the event loop's)."""
        check_payload(payload, parse=not checked)
        invocation = Invocation(payload, client_context=client_context)
        if request_id:
            invocation.request_id = request_id
        return self.pool.invoke(invocation)

    def prewarm(self, early: EarlyStart | None = None) -> concurrent.futures.Future[None]:
        """Start an environment's init now, before the first event (see Pool.prewarm); or
        adopt the one `early` started, when it fits."""
        return self.pool.prewarm(None if early is None else lambda: early.adopt(self.spec))

    def close(self) -> None:
        self.pool.close()
        self.spec.layout.remove()

    def __enter__(self) -> LocalFunction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RuntimeParts(NamedTuple):
    """What runs a function of one Python version here."""

    python_version: str
    interpreter: Path
    sandbox: Sandbox
    runtime_folder: Path


def _runtime_parts(name: str, python_version: str, options: RunOptions) -> RuntimeParts:
    """The interpreter, the sandbox and the runtime folder a function of `python_version` runs with."""
    try:
        interpreter = find_uv().find_python(python_version, options.python)
    except UsageError as exc:
        raise UsageError(
            f"{exc.message}: {name} functions run locally with Python {python_version}",
            f"install it with `uv python install {python_version}`, or pass "
            f"--python PATH to a python{python_version} interpreter",
        ) from None
    sandbox = options.choose_sandbox(interpreter, python_version)
    runtime_folder = ensure_runtime_folder(python_version, interpreter, with_boto3=options.with_boto3, sdk=options.sdk)
    return RuntimeParts(python_version, interpreter, sandbox, runtime_folder)


def _spec(
    settings: FunctionSettings, parts: RuntimeParts, layout: Layout, options: RunOptions, credentials: dict[str, str]
) -> FunctionSpec:
    return FunctionSpec(
        name=settings.name,
        handler=settings.handler,
        python_version=parts.python_version,
        interpreter=parts.interpreter,
        layout=layout,
        runtime_folder=parts.runtime_folder,
        memory_mb=settings.memory_mb,
        timeout_seconds=settings.timeout_seconds,
        environment=dict(settings.environment),
        credentials=credentials,
        region=options.region or caller_region(),
        ephemeral_storage_mb=settings.ephemeral_storage_mb,
        sandbox=parts.sandbox,
    )


def start_early(settings: FunctionSettings, code: Path, layers: Sequence[Path], options: RunOptions) -> EarlyStart:
    """A one-shot run's environment, started on the artifact's current tree before it is
    rebuilt (early_start.py); `settings`, `code` and `layers` are the build's as it is now."""
    from uv_lambda.emulator.early_start import EarlyStart
    from uv_lambda.emulator.loop import shared

    runtime = get_runtime(settings.runtime)
    check_architecture(settings.architecture)

    def prepare() -> tuple[FunctionSpec, Layout | None]:  # on the early start's thread
        parts = _runtime_parts(runtime.name, runtime.python_version, options)
        tree = current_tree(code, layers)
        known = tree or Layout(code.parent, code.parent, code.parent)  # no tree yet: nothing starts
        return _spec(settings, parts, known, options, {}), tree

    return EarlyStart.in_background(prepare, options, shared())


def settings_from_build(
    build: FunctionBuild,
    *,
    name: str | None = None,
    handler: str | None = None,
    memory_mb: int = 128,
    timeout_seconds: int = 3,
    environment: Mapping[str, str] | None = None,
    ephemeral_storage_mb: int = 512,
) -> tuple[FunctionSettings, Path, list[Path]]:
    """Settings, code zip and layer zips of a build (the built layer comes first)."""
    code = build.code
    if code is None:
        raise UsageError(
            f"{build.folder} holds only a layer ({build.format} build): there is no code to run",
            "build the function with format zip or split",
        )
    settings = settings_from_metadata(
        code,
        name=name,
        handler=handler,
        memory_mb=memory_mb,
        timeout_seconds=timeout_seconds,
        environment=environment,
        handler_hint="set handler in [tool.uv-lambda]",
        ephemeral_storage_mb=ephemeral_storage_mb,
    )
    layers = [build.layer.path] if build.layer is not None else []
    return settings, code.path, layers


def settings_from_metadata(
    code: Artifact,
    *,
    name: str | None,
    handler: str | None,
    memory_mb: int,
    timeout_seconds: int,
    environment: Mapping[str, str] | None,
    handler_hint: str,
    runtime: str | None = None,
    ephemeral_storage_mb: int = 512,
) -> FunctionSettings:
    """A code zip's settings from its metadata; arguments given override it."""
    meta = code.metadata
    chosen_handler = handler or meta.handler
    if not chosen_handler:
        raise UsageError(f"{code.path} names no handler", handler_hint)
    return FunctionSettings(
        name=name or meta.function,
        handler=chosen_handler,
        runtime=runtime or meta.runtime,
        architecture=meta.architecture,
        memory_mb=memory_mb,
        timeout_seconds=timeout_seconds,
        environment=dict(environment or {}),
        ephemeral_storage_mb=ephemeral_storage_mb,
    )
