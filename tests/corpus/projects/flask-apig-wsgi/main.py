from apig_wsgi import make_lambda_handler
from flask import Flask, request

app = Flask(__name__)


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": request.args.get("name", "world")}


handler = make_lambda_handler(app)
