"""A built function made runnable here: unpacked artifacts + runtime folder + a pool.

This is the entry point the `invoke` and `serve` commands use: `invoke` blocks its thread,
`submit` runs on the event loop (`serve`).
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
from uv_lambda.emulator.unpack_cache import unpack
from uv_lambda.errors import UsageError
from uv_lambda.runtimes import get_architecture, get_runtime
from uv_lambda.uv import find_uv

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
    def __init__(self, spec: FunctionSpec, concurrency: int) -> None:
        self.spec = spec
        self.pool = Pool(spec, concurrency)

    @classmethod
    def open(
        cls,
        settings: FunctionSettings,
        code: Path,
        layers: Sequence[Path] = (),
        options: RunOptions | None = None,
    ) -> LocalFunction:
        """The function of a code zip and its layer zips, unpacked as /var/task and /opt."""
        options = options or RunOptions()
        get_runtime(settings.runtime)  # an unknown runtime is refused before anything else
        check_architecture(settings.architecture)
        draft = options.draft
        return cls._open(settings, options, lambda: unpack(code, layers, draft=draft))

    @classmethod
    def open_layout(
        cls, settings: FunctionSettings, layout: Layout, options: RunOptions | None = None
    ) -> LocalFunction:
        """The function of an unpacked /var/task and /opt (an image's); closing it removes `layout`."""
        return cls._open(settings, options or RunOptions(), lambda: layout)

    @classmethod
    def _open(cls, settings: FunctionSettings, options: RunOptions, layout: Callable[[], Layout]) -> LocalFunction:
        """The one way a local function opens: its interpreter found (or what to install
        said), the sandbox chosen, the runtime folder ready, and only then `layout()`."""
        runtime = get_runtime(settings.runtime)
        try:
            interpreter = find_uv().find_python(runtime.python_version, options.python)
        except UsageError as exc:
            raise UsageError(
                f"{exc.message}: {runtime.name} functions run locally with Python {runtime.python_version}",
                f"install it with `uv python install {runtime.python_version}`, or pass "
                f"--python PATH to a python{runtime.python_version} interpreter",
            ) from None
        sandbox = options.choose_sandbox(interpreter, runtime.python_version)
        runtime_folder = ensure_runtime_folder(
            runtime.python_version, interpreter, with_boto3=options.with_boto3, sdk=options.sdk
        )
        spec = FunctionSpec(
            name=settings.name,
            handler=settings.handler,
            python_version=runtime.python_version,
            interpreter=interpreter,
            layout=layout(),
            runtime_folder=runtime_folder,
            memory_mb=settings.memory_mb,
            timeout_seconds=settings.timeout_seconds,
            environment=dict(settings.environment),
            credentials=caller_credentials() if options.pass_credentials else {},
            region=options.region or caller_region(),
            ephemeral_storage_mb=settings.ephemeral_storage_mb,
            sandbox=sandbox,
        )
        return cls(spec, options.concurrency)

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

    def prewarm(self) -> concurrent.futures.Future[None]:
        """Start an environment's init now, before the first event (see Pool.prewarm)."""
        return self.pool.prewarm()

    def close(self) -> None:
        self.pool.close()
        self.spec.layout.remove()

    def __enter__(self) -> LocalFunction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
