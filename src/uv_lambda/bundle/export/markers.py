"""Which exported requirements apply on Lambda: PEP 508 markers evaluated for the target.

`uv export` is universal: it keeps `colorama ; sys_platform == 'win32'` and
`typing-extensions ; python_full_version < '3.13'`. `uv pip install --python-platform`
installs nothing for a requirement whose marker is false, so the build drops those before
installing, and they appear in no package list or size report.

The environment is complete (every marker variable is set): packaging fills missing ones
from the building machine, which would make the answer depend on where the build runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as Pep508

from uv_lambda.runtimes import Architecture, Runtime


def target_environment(runtime: Runtime, arch: Architecture) -> dict[str, str]:
    """The marker variables of `runtime` on `arch`, as CPython on Amazon Linux reports them."""
    return {
        "implementation_name": "cpython",
        "implementation_version": runtime.python_full_version,
        "os_name": "posix",
        "platform_machine": arch.machine,
        "platform_python_implementation": "CPython",
        # The kernel's release and build strings vary from host to host on Lambda; markers
        # on them are unheard of in practice, and an empty value keeps the result stable.
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": runtime.python_full_version,
        "python_version": runtime.python_version,
        "sys_platform": "linux",
        "extra": "",
    }


@dataclass(frozen=True)
class Decision:
    applies: bool
    marker: str | None  # the marker text, None when the requirement has none


def requirement_line(text: str) -> str:
    """The requirement of an export block, without its hash continuation (` \\`)."""
    return text.splitlines()[0].rstrip().removesuffix("\\").rstrip()


def evaluate(requirement_text: str, environment: dict[str, str]) -> Decision:
    """Whether an exported requirement (its block, hashes included) applies in `environment`.

    A marker this code cannot read is kept: uv then decides, and a wrong answer would
    silently drop a package the function needs.
    """
    line = requirement_line(requirement_text)
    try:
        marker = Pep508(line).marker
    except InvalidRequirement:
        marker_text = line.partition(";")[2].strip()
        if not marker_text:
            return Decision(True, None)
        try:
            marker = Marker(marker_text)
        except InvalidMarker:
            return Decision(True, marker_text)
    if marker is None:
        return Decision(True, None)
    try:
        return Decision(bool(marker.evaluate(environment)), str(marker))
    except (UndefinedComparison, UndefinedEnvironmentName):
        return Decision(True, str(marker))
