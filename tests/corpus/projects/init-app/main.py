from typing import Any

from dateutil.parser import isoparse


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"weekday": isoparse(event["detail"]["when"]).strftime("%A")}
