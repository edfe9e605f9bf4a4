"""One root error type: a one-line message, a hint that says how to fix it, an exit code.

The CLI is the only place that catches these; it prints `error: <message>` and
`hint: <hint>` and exits with `exit_code`, with a traceback only under `-v`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # the work itself failed: a build, a verification, a deploy
    USAGE = 2  # bad command line or configuration: fix the input and retry
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class UvLambdaError(Exception):
    """An error the user can act on."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(UvLambdaError):
    """The command line or the configuration is wrong."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """`[tool.uv-lambda]`, `pyproject.toml` or the project layout is wrong."""


class BuildError(UvLambdaError):
    """The build could not produce an artifact."""


class VerificationError(BuildError):
    """The artifact would not work on Lambda; nothing was written."""


class CommandError(UvLambdaError):
    """A subprocess (usually uv) failed."""

    def __init__(self, message: str, hint: str | None = None, output: str = "") -> None:
        super().__init__(message, hint)
        self.output = output


class DamagedCacheEntry(BuildError):
    """A cache entry failed its digest or does not parse: the caller drops it and builds it
    again (a cache miss). It reaches the user only if the second attempt fails the same way."""

    def __init__(self, entry: str, reason: str) -> None:
        super().__init__(
            f"the cache entry {entry} is damaged ({reason})",
            "it is rebuilt on the next build; if this repeats, the disk may be failing: run `uv-lambda cache clean`",
        )
        self.entry = entry
        self.reason = reason
