from typing import Any

import attrs
from common import stamp


@attrs.frozen
class Order:
    id: str


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"order": stamp(Order(event["detail"]["id"]).id)}
