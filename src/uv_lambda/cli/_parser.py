"""The argument parser's errors in the CLI's own shape, and value types that refuse empty text.

argparse prints its usage block and `prog: error: ...`; uv-lambda prints one `error:` line
and a `hint:` line for every bad input, the command line's included. An empty value is most
often an unset variable (`--runtime "$RUNTIME"` in CI); it is an error, never "not given".
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

EMPTY = "is empty (is the variable it comes from unset?)"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        if message.endswith(EMPTY):
            hint = "pass a value, or leave the option out"
        elif " " in self.prog:  # a command's parser: `uv-lambda build`
            hint = f"`{self.prog} --help` lists the options and the values they take"
        else:  # the top parser, which reports arguments no command took
            hint = f"`{self.prog} COMMAND --help` lists the options of a command"
        self.exit(2, f"error: {message}\nhint: {hint}\n")


def text(value: str) -> str:
    """A value that is not empty or blank."""
    if not value.strip():
        raise argparse.ArgumentTypeError(EMPTY)
    return value


def path(value: str) -> Path:
    """A path that is not empty: Path("") would be the current folder."""
    return Path(text(value))
