"""Run a pushed image here, without a container engine: its /var/task and /opt are unpacked
and served by the local runner with an interpreter of the runtime's Python version.

What differs from Lambda: the base image's own runtime (/var/runtime, /var/lang) is not
used; the local runner supplies the runtime interface client and Python, as for zips.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from uv_lambda.config import FunctionConfig
from uv_lambda.emulator.function import LocalFunction, RunOptions, check_architecture
from uv_lambda.emulator.layout import Layout
from uv_lambda.errors import UsageError
from uv_lambda.image.auth import Credentials
from uv_lambda.image.reader import pull_image, unpack
from uv_lambda.image.reference import Reference
from uv_lambda.model import Function
from uv_lambda.reserved_variables import RESERVED
from uv_lambda.runtimes import get_runtime

# Set by the base image for its own runtime, or by the local runner: never the function's.
_SYSTEM_VARIABLES = RESERVED | {"PATH", "LD_LIBRARY_PATH", "LANG", "TZ", "PYTHONPATH"}


def open_image(
    reference: Reference,
    config: FunctionConfig,
    *,
    options: RunOptions | None = None,
    cache_dir: Path | None = None,
    registry_credentials: Credentials | None = None,
) -> LocalFunction:
    """A LocalFunction serving the image for `config.architecture`; the handler is the image's
    Cmd unless `config` names one, its environment the image's Env under `config`'s.

    Without a runtime in `config`, the Python version is read from the image's bytecode
    (uv-lambda compiles the dependencies it puts into /var/task): the image config does not name it.
    """
    if config.runtime is not None:
        get_runtime(config.runtime)  # an unknown runtime fails before any download
    check_architecture(config.architecture)
    image = pull_image(reference, config.architecture, cache_dir=cache_dir, registry_credentials=registry_credentials)
    chosen = config.handler or (image.cmd[0] if image.cmd else None)
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
        config = replace(
            config,
            runtime=config.runtime or _runtime_from_bytecode(layout, reference),
            handler=chosen,
            environment={**image_env, **config.environment},
        )
        return open_layout(layout, config, options)
    except BaseException:
        layout.remove()
        raise


def open_layout(layout: Layout, config: FunctionConfig, options: RunOptions | None = None) -> LocalFunction:
    """A LocalFunction over an unpacked /var/task (and /opt); closing it removes `layout`.
    `config` names the runtime and the handler."""
    return LocalFunction.open_layout(Function.configured(config), layout, options or RunOptions())


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
