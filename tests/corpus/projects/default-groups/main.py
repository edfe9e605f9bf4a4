import importlib.util
from typing import Any

import structlog


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    structlog.get_logger().info("checked", source=event["source"])
    return {"pytest_shipped": importlib.util.find_spec("pytest") is not None}
