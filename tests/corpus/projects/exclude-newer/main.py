from typing import Any

import requests


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"requests": requests.__version__}
