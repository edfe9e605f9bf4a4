from typing import Any

import crcmod.predefined


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"crc32": crcmod.predefined.mkCrcFun("crc-32")(b"lambda")}
