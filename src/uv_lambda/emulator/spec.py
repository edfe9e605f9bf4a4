"""Everything an execution environment needs to know about the function it runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from uv_lambda.emulator.layout import Layout
from uv_lambda.emulator.sandbox import Sandbox
from uv_lambda.limits import (
    DEFAULT_EPHEMERAL_STORAGE_MB,
    DEFAULT_MEMORY_MB,
    DEFAULT_REGION,
    DEFAULT_TIMEOUT_SECONDS,
    DEFAULT_VERSION,
    LOCAL_ACCOUNT_ID,
)


@dataclass(frozen=True)
class FunctionSpec:
    """A model.Function as an execution environment sees it, with what this machine lends it;
    made in one place (LocalFunction.open_layout). The defaults serve unit tests."""

    name: str
    handler: str
    python_version: str  # "3.13"
    interpreter: Path  # a python3.13 executable
    layout: Layout
    runtime_folder: Path
    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    environment: Mapping[str, str] = field(default_factory=dict)  # the function's configuration
    credentials: Mapping[str, str] = field(default_factory=dict)  # AWS_ACCESS_KEY_ID, ...
    region: str = DEFAULT_REGION
    version: str = DEFAULT_VERSION
    account_id: str = LOCAL_ACCOUNT_ID
    ephemeral_storage_mb: int = DEFAULT_EPHEMERAL_STORAGE_MB  # the size of /tmp (sandboxed)
    # How runtimes start: in a bwrap sandbox laid out as Lambda, or unsandboxed.
    sandbox: Sandbox = field(default_factory=lambda: Sandbox(None))

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    @property
    def runtime_name(self) -> str:
        return f"python{self.python_version}"
