import json
from importlib.resources import files
from pathlib import PurePosixPath
from typing import Any

PRICES = json.loads(files("package_data").joinpath("prices.json").read_text())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    fruit = PurePosixPath(event["Records"][0]["s3"]["object"]["key"]).stem
    return {"fruit": fruit, "price": PRICES[fruit]}
