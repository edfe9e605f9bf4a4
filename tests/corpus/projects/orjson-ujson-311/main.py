from typing import Any

import orjson
import ujson


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail = event["detail"]
    return {
        "orjson": orjson.__version__,
        "ujson": ujson.__version__,
        "same": orjson.loads(ujson.dumps(detail)) == detail,
    }
