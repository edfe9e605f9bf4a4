from litestar import Litestar, get
from mangum import Mangum


@get("/books/{book_id:int}")
async def get_book(book_id: int, fields: str = "title") -> dict[str, object]:
    return {"book_id": book_id, "fields": fields.split(",")}


app = Litestar(route_handlers=[get_book])
handler = Mangum(app, lifespan="off")
