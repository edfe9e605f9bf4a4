from typing import Any

import attrs


@attrs.define
class Reply:
    path: str


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": attrs.asdict(Reply(event["rawPath"]))["path"]}
