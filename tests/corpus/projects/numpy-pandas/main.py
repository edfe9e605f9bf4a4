import json
from typing import Any

import numpy as np
import pandas as pd


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    rows = [row for record in event["Records"] for row in json.loads(record["body"])]
    frame = pd.DataFrame(rows)
    return {"rows": len(frame), "total": float(frame["amount"].sum()), "mean": float(np.mean(frame["amount"]))}
