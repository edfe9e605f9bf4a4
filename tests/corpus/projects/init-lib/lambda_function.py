from typing import Any

import charset_normalizer
import requests


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    request = requests.Request("GET", "https://example.com/search", params=event["queryStringParameters"]).prepare()
    return {"url": str(request.url), "charset_normalizer": charset_normalizer.__version__}
