"""Run a pushed image here, without a container engine: its /var/task and /opt are unpacked
and served by the local runner with an interpreter of the runtime's Python version.

What differs from Lambda: the base image's own runtime (/var/runtime, /var/lang) is not
used; the local runner supplies the runtime interface client and Python, as for zips.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from uv_lambda.emulator.function import FunctionSettings, LocalFunction, RunOptions, check_architecture
from uv_lambda.emulator.layout import Layout
from uv_lambda.errors import UsageError
from uv_lambda.image.auth import Credentials
from uv_lambda.image.reader import pull_image, unpack
from uv_lambda.image.reference import Reference
from uv_lambda.reserved_variables import RESERVED
from uv_lambda.runtimes import get_architecture, get_runtime

# Set by the base image for its own runtime, or by the local runner: never the function's.
_SYSTEM_VARIABLES = RESERVED | {"PATH", "LD_LIBRARY_PATH", "LANG", "TZ", "PYTHONPATH"}


@dataclass(frozen=True)
class ImageRun:
    """What the image does not say about the function, or says otherwise."""

    name: str
    runtime: str | None = None  # None: read from the image's bytecode
    architecture: str = "x86_64"  # the platform taken from an image index
    handler: str | None = None  # None: the image's Cmd
    memory_mb: int = 128
    timeout_seconds: int = 3
    environment: Mapping[str, str] = field(default_factory=dict)  # over the image's Env


def open_image(
    reference: Reference,
    run: ImageRun,
    options: RunOptions | None = None,
    *,
    cache_dir: Path | None = None,
    registry_credentials: Credentials | None = None,
) -> LocalFunction:
    """A LocalFunction serving the image; the handler is the image's Cmd unless given.

    Without `run.runtime`, the Python version is read from the image's bytecode (uv-lambda
    compiles the dependencies it puts into /var/task): the image config does not name it.
    """
    if run.runtime is not None:
        get_runtime(run.runtime)  # an unknown runtime fails before any download
    check_architecture(run.architecture)
    image = pull_image(
        reference,
        get_architecture(run.architecture),
        cache_dir=cache_dir,
        registry_credentials=registry_credentials,
    )
    chosen = run.handler or (image.cmd[0] if image.cmd else None)
    if not chosen:
        raise UsageError(
            f"image {reference} sets no handler (its Cmd is empty)",
            "pass --handler MODULE.FUNCTION, or build the image with uv-lambda",
        )
    root = Path(tempfile.mkdtemp(prefix="uv-lambda-image-"))
    layout = Layout(root, root / "var" / "task", root / "opt")
    try:
        unpack(image, root, ("var/task", "opt"))
        layout.task_root.mkdir(parents=True, exist_ok=True)
        layout.opt.mkdir(parents=True, exist_ok=True)
        image_env = {k: v for k, v in image.env.items() if k not in _SYSTEM_VARIABLES}
        settings = FunctionSettings(
            name=run.name,
            handler=chosen,
            runtime=run.runtime or _runtime_from_bytecode(layout, reference),
            architecture=run.architecture,
            memory_mb=run.memory_mb,
            timeout_seconds=run.timeout_seconds,
            environment={**image_env, **run.environment},
        )
        return LocalFunction.open_layout(settings, layout, options)
    except BaseException:
        layout.remove()
        raise


def _runtime_from_bytecode(layout: Layout, reference: Reference) -> str:
    """python3.X from the tag of the first compiled module found (`mod.cpython-313.pyc`)."""
    for folder in (layout.task_root, layout.opt):
        for compiled in folder.rglob("__pycache__/*.cpython-3*.pyc"):
            minor = compiled.name.rpartition(".cpython-3")[2].partition(".")[0]
            if minor.isdigit():
                runtime = f"python3.{minor}"
                get_runtime(runtime)  # a Python version Lambda does not offer is refused here
                return runtime
    raise UsageError(
        f"cannot tell the Python version of image {reference}: it holds no compiled modules",
        "pass --runtime python3.X",
    )
