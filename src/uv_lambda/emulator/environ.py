"""The environment variables of a function process, as Lambda sets them (pure).

The process gets a clean environment, as on Lambda: nothing leaks in from the caller's
shell except the AWS credentials (passed through unless withheld) and PATH.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from uv_lambda.emulator.spec import FunctionSpec

# Variables a function's configuration may not set: Lambda reserves them.
RESERVED = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


def log_stream_name(version: str, now: datetime | None = None) -> str:
    """Lambda's stream name: `2026/11/26/[$LATEST]<32 hex>`, one per environment."""
    day = (now or datetime.now(UTC)).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{uuid.uuid4().hex}"


def function_environment(
    spec: FunctionSpec,
    runtime_api: str,
    *,
    host_path: str | None = None,
    stream_name: str | None = None,
) -> dict[str, str]:
    layout = spec.layout
    task, opt, runtime = str(layout.task_root), str(layout.opt), str(spec.runtime_folder)
    # The runtime starts with `python -m` in the task root, which puts the task root first on
    # sys.path; PYTHONPATH adds the rest in Lambda's order.
    python_path = os.pathsep.join(str(p) for p in layout.python_path(spec.python_version, spec.runtime_folder)[1:])
    env: dict[str, str] = {
        # The function's own configuration first: Lambda's reserved values win over it.
        **{k: v for k, v in spec.environment.items() if k not in RESERVED},
        **spec.credentials,
        "_HANDLER": spec.handler,
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        # awslambdaric polls exactly as on Lambda with this value.
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime_name}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream_name or log_stream_name(spec.version),
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "LAMBDA_TASK_ROOT": task,
        "LAMBDA_RUNTIME_DIR": runtime,
        "LANG": "en_US.UTF-8",
        # Lambda runs in UTC; `:/etc/localtime` there is UTC, here it may not be.
        "TZ": "UTC",
        "PATH": os.pathsep.join([str(spec.interpreter.parent), f"{opt}/bin", host_path or os.defpath]),
        "LD_LIBRARY_PATH": os.pathsep.join([runtime, f"{runtime}/lib", task, f"{task}/lib", f"{opt}/lib"]),
        "PYTHONPATH": python_path,
        # /var/task and /opt are read-only on Lambda: no bytecode is ever written there.
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return env


def reserved_keys_in(environment: Mapping[str, str]) -> list[str]:
    return sorted(key for key in environment if key in RESERVED)
