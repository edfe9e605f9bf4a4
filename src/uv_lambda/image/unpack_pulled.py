"""A pushed image's /var/task and /opt, unpacked here, and the configuration it runs with:
the handler from its Cmd, its Env, the runtime's Python version from its bytecode.

app/local.py opens the unpacked tree with the local runner, as it opens a build's. What
differs from Lambda: the base image's own runtime (/var/runtime, /var/lang) is not used; the
local runner supplies the runtime interface client and Python, as for zips.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from uv_lambda.config import FunctionConfig
from uv_lambda.errors import UsageError
from uv_lambda.image.auth import Credentials
from uv_lambda.image.reader import pull_image, unpack
from uv_lambda.image.reference import Reference
from uv_lambda.reserved_variables import RESERVED
from uv_lambda.runtimes import get_runtime

# Set by the base image for its own runtime, or by the local runner: never the function's.
_SYSTEM_VARIABLES = RESERVED | {"PATH", "LD_LIBRARY_PATH", "LANG", "TZ", "PYTHONPATH"}


def unpack_pulled(
    reference: Reference,
    config: FunctionConfig,
    *,
    cache_dir: Path | None = None,
    registry_credentials: Credentials | None = None,
) -> tuple[Path, FunctionConfig]:
    """A new folder holding the image's var/task and opt for `config.architecture` (the
    caller removes it), and `config` completed: the handler is the image's Cmd unless
    `config` names one, its environment the image's Env under `config`'s.

    Without a runtime in `config`, the Python version is read from the image's bytecode
    (uv-lambda compiles the dependencies it puts into /var/task): the image config does not name it.
    """
    image = pull_image(reference, config.architecture, cache_dir=cache_dir, registry_credentials=registry_credentials)
    chosen = config.handler or (image.cmd[0] if image.cmd else None)
    if not chosen:
        raise UsageError(
            f"image {reference} sets no handler (its Cmd is empty)",
            "pass --handler MODULE.FUNCTION, or build the image with uv-lambda",
        )
    root = Path(tempfile.mkdtemp(prefix="uv-lambda-image-"))
    try:
        unpack(image, root, ("var/task", "opt"))
        task, opt = root / "var" / "task", root / "opt"
        task.mkdir(parents=True, exist_ok=True)
        opt.mkdir(parents=True, exist_ok=True)
        image_env = {k: v for k, v in image.env.items() if k not in _SYSTEM_VARIABLES}
        return root, replace(
            config,
            runtime=config.runtime or _runtime_from_bytecode((task, opt), reference),
            handler=chosen,
            environment={**image_env, **config.environment},
        )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _runtime_from_bytecode(folders: tuple[Path, Path], reference: Reference) -> str:
    """python3.X from the tag of the first compiled module found (`mod.cpython-313.pyc`)."""
    for folder in folders:
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
