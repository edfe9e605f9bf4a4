"""The environment variables of a function process, as Lambda sets them (pure).

The process gets a clean environment, as on Lambda: nothing of the caller's shell reaches
it except the AWS credentials passed on purpose (unless withheld). The function's own
`environment` overrides the variables Lambda lets it override (PATH, LD_LIBRARY_PATH,
PYTHONPATH, LANG, TZ, ...); reserved ones are refused when the configuration is read, and
dropped here if they come from elsewhere (a container image's Env).
"""

from __future__ import annotations

from datetime import UTC, datetime

from uv_lambda.emulator.ids import request_id
from uv_lambda.emulator.sandbox import Paths
from uv_lambda.emulator.spec import FunctionSpec
from uv_lambda.reserved_variables import RESERVED

# The X-Ray daemon's address on Lambda (there is none here: a trace sent to it is lost).
XRAY_DAEMON_IP = "169.254.79.129"
XRAY_DAEMON_PORT = "2000"


def log_stream_name(version: str, now: datetime | None = None) -> str:
    """Lambda's stream name: `2026/11/26/[$LATEST]<32 hex>`, one per environment."""
    day = (now or datetime.now(UTC)).strftime("%Y/%m/%d")
    # A version-4 UUID's hex, as uuid.uuid4().hex (the uuid module costs a run ~3 ms to import).
    return f"{day}/[{version}]{request_id().replace('-', '')}"


def lambda_defaults(where: Paths) -> dict[str, str]:
    """What Lambda sets and a function may override, with its values (paths as `where` says)."""
    return {
        "LANG": "en_US.UTF-8",
        "LC_CTYPE": "C.UTF-8",
        "TZ": ":UTC",
        "PATH": ":".join([where.lang_bin, "/usr/local/bin", "/usr/bin/", "/bin", f"{where.opt}/bin"]),
        "LD_LIBRARY_PATH": ":".join(
            [
                where.lang_lib,
                "/lib64",
                "/usr/lib64",
                where.runtime,
                f"{where.runtime}/lib",
                where.task_root,
                f"{where.task_root}/lib",
                f"{where.opt}/lib",
            ]
        ),
        "PYTHONPATH": where.runtime,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": f"{XRAY_DAEMON_IP}:{XRAY_DAEMON_PORT}",
        "_AWS_XRAY_DAEMON_ADDRESS": XRAY_DAEMON_IP,
        "_AWS_XRAY_DAEMON_PORT": XRAY_DAEMON_PORT,
    }


def function_environment(
    spec: FunctionSpec,
    runtime_api: str,
    where: Paths,
    *,
    stream_name: str | None = None,
) -> dict[str, str]:
    return {
        **lambda_defaults(where),
        # The function's configuration overrides what Lambda lets it override...
        **{k: v for k, v in spec.environment.items() if k not in RESERVED},
        # ...and never what it reserves.
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
        "LAMBDA_TASK_ROOT": where.task_root,
        "LAMBDA_RUNTIME_DIR": where.runtime,
    }
