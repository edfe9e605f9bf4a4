from typing import Any

from greetlib import greet


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"message": greet(event["detail"]["name"])}
