import pydantic_core
from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel

app = FastAPI()


class Order(BaseModel):
    id: str
    quantity: int


@app.post("/orders")
def create_order(order: Order) -> dict[str, object]:
    return {"id": order.id, "quantity": order.quantity, "pydantic_core": pydantic_core.__version__}


handler = Mangum(app, lifespan="off")
