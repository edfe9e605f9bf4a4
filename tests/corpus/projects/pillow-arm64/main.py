import io
from typing import Any

from PIL import Image


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    image = Image.new("RGB", (640, 480), "teal")
    image.thumbnail((128, 128))
    out = io.BytesIO()
    image.save(out, "WEBP")
    return {"size": list(image.size), "bytes": len(out.getvalue())}
