import importlib.util
import platform
import sys
from typing import Any

from markupsafe import escape


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "python": "{}.{}".format(*sys.version_info[:2]),
        "machine": platform.machine(),
        "tomli": importlib.util.find_spec("tomli") is not None,
        "escaped": str(escape("<lambda>")),
    }
