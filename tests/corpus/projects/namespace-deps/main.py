from typing import Any

from jaraco.context import suppress
from jaraco.functools import compose


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with suppress(KeyError):
        return {"composed": compose(str.upper, str.strip)(event["detail"]["name"])}
    return {"composed": None}
