"""The error documents Lambda itself returns when a function fails outside its own code.

A handler's own exception is reported by awslambdaric and passed through unchanged; these
are the failures the service detects: a timeout, a runtime that exits, too much memory, a
response over the payload limit.
"""

from __future__ import annotations

import json
import signal

# Error types Lambda uses for failures of the environment rather than of the handler.
TIMEOUT = "Sandbox.Timedout"
EXIT_ERROR = "Runtime.ExitError"
OUT_OF_MEMORY = "Runtime.OutOfMemory"
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"
UNKNOWN = "Runtime.Unknown"


def document(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def timeout_message(seconds: float) -> str:
    return f"Task timed out after {seconds:.2f} seconds"


def timeout(request_id: str, seconds: float) -> bytes:
    return document(TIMEOUT, f"RequestId: {request_id} Error: {timeout_message(seconds)}")


def exit_status(returncode: int) -> str:
    """How Lambda (a Go program) words a process's end: "exit status 1", "signal: killed"."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"signal: {-returncode}"
    words = {
        "SIGKILL": "killed",
        "SIGSEGV": "segmentation fault",
        "SIGABRT": "aborted",
        "SIGTERM": "terminated",
        "SIGBUS": "bus error",
        "SIGILL": "illegal instruction",
        "SIGFPE": "floating point exception",
    }
    return f"signal: {words.get(name, name.removeprefix('SIG').lower())}"


def exited(request_id: str, returncode: int) -> bytes:
    return document(
        EXIT_ERROR,
        f"RequestId: {request_id} Error: Runtime exited with error: {exit_status(returncode)}",
    )


def out_of_memory(request_id: str) -> bytes:
    """What the caller of an environment stopped over its memory size gets: the runtime's
    kill (REPORT's Error Type says Runtime.OutOfMemory)."""
    return document(
        EXIT_ERROR,
        f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
    )


def response_too_large(size: int | None, limit: int) -> bytes:
    """Lambda names both sizes; a chunked body refused before its end has no known size."""
    measured = f" ({size} bytes)" if size is not None else ""
    return document(
        RESPONSE_TOO_LARGE,
        f"Response payload size{measured} exceeded maximum allowed payload size ({limit} bytes).",
    )


def error_type_of(body: bytes) -> str | None:
    """The errorType of an error document, when it is one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("errorType") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
