from typing import Any

from common import stamp


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"user": stamp(event["detail"]["id"])}
