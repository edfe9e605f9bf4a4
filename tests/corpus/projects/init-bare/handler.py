from typing import Any

from markupsafe import escape


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"html": str(escape(event["Records"][0]["Sns"]["Message"]))}
