"""A built function made runnable here: unpacked artifacts + runtime folder + a pool.

This is the entry point the `invoke` and `serve` commands use: `invoke` blocks its thread,
`submit` runs on the event loop (`serve`).
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from uv_lambda.artifact import Artifact, FunctionBuild
from uv_lambda.config import FunctionConfig
from uv_lambda.emulator.aws_credentials import caller_credentials, caller_region
from uv_lambda.emulator.environment import InvocationResult
from uv_lambda.emulator.invocation import Invocation
from uv_lambda.emulator.layout import Layout
from uv_lambda.emulator.pool import Pool, ResultCallback
from uv_lambda.emulator.runtime_folder import (
    ensure_runtime_folder,
    host_architecture,
    host_machine,
    installed_runtime_folder,
    runtime_folder_intact,
)
from uv_lambda.emulator.sandbox import Sandbox, choose, default_mode, probe_in_background
from uv_lambda.emulator.spec import FunctionSpec
from uv_lambda.emulator.unpack_cache import current_tree, unpack
from uv_lambda.errors import UsageError
from uv_lambda.limits import MAX_SYNC_PAYLOAD
from uv_lambda.model import Architecture, Function
from uv_lambda.uv import find_uv

if TYPE_CHECKING:
    from uv_lambda.emulator.early_start import EarlyStart

log = logging.getLogger(__name__)


class PayloadError(UsageError):
    """The event cannot be sent to Lambda: not JSON, or over the payload limit."""


@dataclass(frozen=True)
class RunOptions:
    """How to run the function on this machine: what its configuration does not say."""

    with_boto3: bool = True  # the runtime folder holds boto3, as Lambda's /var/runtime does
    pass_credentials: bool = True
    python: str | None = None  # an explicit interpreter of the runtime's Python version
    region: str | None = None
    # "auto" (bwrap where it works), "require", "off"; None: $UV_LAMBDA_SANDBOX, else auto.
    sandbox: str | None = None
    # Link the next tree while this one runs (emulator/unpack_cache.py): a server runs again
    # while it holds this tree; a one-shot run leaves it to be updated in place instead.
    draft: bool = True

    def choose_sandbox(self, interpreter: Path, python_version: str) -> Sandbox:
        return choose(self.sandbox or default_mode(), interpreter, python_version)

    def probe_sandbox(self) -> None:
        """Start the sandbox's trial run on a thread, for choose_sandbox (sandbox.probe_in_background)."""
        try:
            mode = self.sandbox or default_mode()
        except UsageError:
            return  # choose_sandbox says what is wrong, in its turn
        probe_in_background(mode)


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


def check_architecture(architecture: Architecture) -> None:
    wanted = architecture.machine
    host = host_machine()
    if wanted != host:
        raise UsageError(
            f"the function is built for {architecture} ({wanted}) and this machine is {host}: it cannot run here",
            f"build it for {host_architecture()} to run it locally "
            "(architecture in [tool.uv-lambda]), and keep the other architecture for deploys",
        )


class LocalFunction:
    def __init__(self, spec: FunctionSpec, concurrency: int, host_key: HostKey | None = None) -> None:
        self.spec = spec
        self.host_key = host_key  # what chose its interpreter, sandbox and runtime folder
        self.pool = Pool(spec, concurrency)

    @classmethod
    def open(
        cls,
        function: Function,
        code: Path,
        layers: Sequence[Path] = (),
        options: RunOptions | None = None,
        early: EarlyStart | None = None,
    ) -> LocalFunction:
        """The function whose code zip and layer zips are given, unpacked for this run.
        `early`: an environment started while it was built (early_start.py)."""
        options = options or RunOptions()
        check_architecture(function.architecture)
        lent = early.lends(host_key(function, options)) if early is not None else None
        host = _Host(lent.interpreter, lent.runtime_folder, lent.sandbox) if lent is not None else None
        host = host or _Host.prepare(function, options)
        if early is not None:
            early.reached_gate()  # before the unpack updates the tree it runs on
        layout: Layout = unpack(code, layers, draft=options.draft)
        credentials = early.credentials if early is not None else None  # looked up once (botocore)
        try:
            return cls.open_layout(function, layout, options, host, credentials)
        except BaseException:
            layout.remove()
            raise

    @classmethod
    def open_layout(
        cls,
        function: Function,
        layout: Layout,
        options: RunOptions,
        host: _Host | None = None,
        credentials: dict[str, str] | None = None,
    ) -> LocalFunction:
        """The function over an unpacked /var/task (and /opt); closing it removes `layout`.
        `credentials`: the caller's, when already looked up."""
        host = host or _Host.prepare(function, options)
        if credentials is None:
            credentials = caller_credentials() if options.pass_credentials else {}
        spec = _spec(function, layout, options, host, credentials)
        return cls(spec, function.config.concurrency, host_key(function, options))

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


# What chooses a function's interpreter, sandbox and runtime folder here (see _Host).
HostKey = tuple[str, str, "RunOptions"]


def host_key(function: Function, options: RunOptions) -> HostKey:
    return (function.runtime.python_version, function.config.runtime_sdk, options)


def _spec(
    function: Function, layout: Layout, options: RunOptions, host: _Host, credentials: dict[str, str]
) -> FunctionSpec:
    """The one place a function's run specification (FunctionSpec) is made."""
    if function.handler is None:
        raise UsageError(f"{function.config.name} names no handler", "set handler in [tool.uv-lambda]")
    config = function.config
    return FunctionSpec(
        name=function.name,
        handler=function.handler,
        python_version=function.runtime.python_version,
        interpreter=host.interpreter,
        layout=layout,
        runtime_folder=host.runtime_folder,
        memory_mb=config.memory,
        timeout_seconds=config.timeout,
        environment=dict(config.environment),
        credentials=credentials,
        region=options.region or caller_region(),
        ephemeral_storage_mb=config.ephemeral_storage,
        sandbox=host.sandbox,
    )


def start_early(function: Function, code: Path, layers: Sequence[Path], options: RunOptions) -> EarlyStart:
    """A one-shot run's environment, started on the artifact's current tree before it is
    rebuilt (early_start.py); `function`, `code` and `layers` are the build's as it is now."""
    from uv_lambda.emulator.early_start import EarlyStart
    from uv_lambda.emulator.loop import shared

    check_architecture(function.architecture)

    def prepare() -> tuple[FunctionSpec, Layout | None, Callable[[], bool]]:  # on the early start's thread
        tree = current_tree(code, layers)
        known = tree or Layout(code.parent, code.parent, code.parent)  # no tree yet: nothing starts
        # An installed runtime folder is checked after the runtime is spawned (it runs nothing
        # of the function before its gate), once the build is done: see early_start.py.
        runtime = function.runtime
        installed = installed_runtime_folder(
            runtime.python_version, with_boto3=options.with_boto3, sdk=function.config.runtime_sdk
        )
        host = _Host.prepare(function, options, installed)
        check = (lambda: runtime_folder_intact(host.runtime_folder)) if installed is not None else (lambda: True)
        return _spec(function, known, options, host, {}), tree, check

    return EarlyStart.in_background(prepare, host_key(function, options), shared())


@dataclass(frozen=True)
class _Host:
    """What this machine lends the function: an interpreter, a runtime folder, a sandbox."""

    interpreter: Path
    runtime_folder: Path
    sandbox: Sandbox

    @classmethod
    def prepare(cls, function: Function, options: RunOptions, runtime_folder: Path | None = None) -> _Host:
        """`runtime_folder`: the one to use, unchecked (see start_early); default: checked,
        or installed when it is missing or not intact."""
        runtime = function.runtime
        try:
            interpreter = find_uv().find_python(runtime.python_version, options.python)
        except UsageError as exc:
            raise UsageError(
                f"{exc.message}: {runtime.name} functions run locally with Python {runtime.python_version}",
                f"install it with `uv python install {runtime.python_version}`, or pass "
                f"--python PATH to a python{runtime.python_version} interpreter",
            ) from None
        sandbox = options.choose_sandbox(interpreter, runtime.python_version)
        runtime_folder = runtime_folder or ensure_runtime_folder(
            runtime.python_version, interpreter, with_boto3=options.with_boto3, sdk=function.config.runtime_sdk
        )
        return cls(interpreter, runtime_folder, sandbox)


def function_of_build(build: FunctionBuild, config: FunctionConfig) -> tuple[Function, Path, list[Path]]:
    """The function, code zip and layer zips of a build (the built layer comes first); `config`
    says what the build's metadata does not (memory, environment, ...)."""
    code = build.code
    if code is None:
        raise UsageError(
            f"{build.folder} holds only a layer ({build.format} build): there is no code to run",
            "build the function with format zip or split",
        )
    function = function_of_artifact(code, config, handler_hint="set handler in [tool.uv-lambda]")
    layers = [build.layer.path] if build.layer is not None else []
    return function, code.path, layers


def function_of_artifact(code: Artifact, config: FunctionConfig, *, handler_hint: str) -> Function:
    """A code zip's function: its metadata says what it was built for, `config` the rest; a
    handler in `config` (a run's --handler) wins over the built one."""
    function = Function.of_build(config, code.metadata)
    if config.handler:
        function = replace(function, handler=config.handler)
    if not function.handler:
        raise UsageError(f"{code.path} names no handler", handler_hint)
    return function
