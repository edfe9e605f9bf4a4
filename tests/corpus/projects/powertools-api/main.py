from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

app = APIGatewayHttpResolver()


@app.post("/orders")
def create_order() -> dict[str, Any]:
    order = app.current_event.json_body
    return {"created": order["id"], "items": len(order["items"])}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
