"""The environment variables Lambda reserves: a function's configuration may not set them.

Lambda refuses such a configuration ("...contains reserved keys that are currently not
supported for modification"); so do build, invoke and deploy, through the configuration's
validation. Other keys Lambda sets (PATH, LD_LIBRARY_PATH, PYTHONPATH, LANG, TZ, the X-Ray
variables) may be overridden.
"""

from __future__ import annotations

from collections.abc import Iterable

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


def reserved_keys_in(keys: Iterable[str]) -> list[str]:
    return sorted(key for key in keys if key in RESERVED)
