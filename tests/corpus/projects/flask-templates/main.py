from apig_wsgi import make_lambda_handler
from flask import Flask, render_template, request

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return render_template("hello.html", name=request.args.get("name", "world"))


handler = make_lambda_handler(app)
