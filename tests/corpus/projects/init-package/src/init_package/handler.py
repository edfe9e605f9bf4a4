from typing import Any

import yaml


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"parsed": yaml.safe_load(event["Records"][0]["body"]), "libyaml": yaml.__with_libyaml__}
