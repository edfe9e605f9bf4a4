from typing import Any

from acme_tools import shout


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"said": shout(event["Records"][0]["body"])}
