#!/usr/bin/env bash
# Writes tests/corpus/projects/ the way users make projects: `uv init` (each flavour), then
# `uv add` with exact pins, resolved under [tool.uv] exclude-newer so a re-run resolves the
# same versions. Run from the repository root with the uv and Pythons 3.10-3.13 of the test
# environment on PATH:  bash tests/corpus/make_projects.sh [NAME...]  (default: all)
set -euo pipefail
ROOT=tests/corpus/projects
EXCLUDE_NEWER=2025-06-01T00:00:00Z
export UV_PYTHON_DOWNLOADS=never
SELECTED=" ${*:-} "

want() { [ "$SELECTED" = "  " ] || [[ "$SELECTED" == *" $1 "* ]]; }

# init NAME FLAVOUR PYTHON [EXCLUDE_NEWER] [more [tool.uv] lines]
init() {
    local dir=$ROOT/$1
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    # shellcheck disable=SC2086 # FLAVOUR may be empty
    uv init --quiet --vcs none --no-workspace --no-readme --author-from none $2 -p "$3" --name "$(basename "$1")" "$dir"
    printf '\n[tool.uv]\nexclude-newer = "%s"\n%s' "${4:-$EXCLUDE_NEWER}" "${5:-}" >>"$dir/pyproject.toml"
}
add() { local dir=$ROOT/$1; shift; (cd "$dir" && uv add --quiet --no-sync --bounds exact "$@"); }
file() { mkdir -p "$(dirname "$ROOT/$1")"; cat >"$ROOT/$1"; }
# tool NAME TEXT: a [tool.uv-lambda] table (uv lock again: pyproject.toml changed)
tool() { printf '\n[tool.uv-lambda]\n%s\n' "$2" >>"$ROOT/$1/pyproject.toml"; (cd "$ROOT/$1" && uv lock --quiet); }

if want fastapi-mangum; then
    init fastapi-mangum --app 3.13
    add fastapi-mangum fastapi mangum
    file fastapi-mangum/main.py <<'PY'
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/items/{item_id}")
def read_item(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


handler = Mangum(app, lifespan="off")
PY
fi

if want flask-apig-wsgi; then
    init flask-apig-wsgi --app 3.12
    add flask-apig-wsgi flask apig-wsgi
    file flask-apig-wsgi/main.py <<'PY'
from apig_wsgi import make_lambda_handler
from flask import Flask, request

app = Flask(__name__)


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": request.args.get("name", "world")}


handler = make_lambda_handler(app)
PY
fi

if want django-mangum; then
    init django-mangum --app 3.12
    add django-mangum django mangum
    file django-mangum/mysite/__init__.py </dev/null
    file django-mangum/mysite/settings.py <<'PY'
SECRET_KEY = "only-for-the-corpus"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "mysite.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
PY
    file django-mangum/mysite/urls.py <<'PY'
import django
from django.http import HttpRequest, JsonResponse
from django.urls import path


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"pong": request.GET.get("who", "anyone"), "django": django.get_version()})


urlpatterns = [path("ping/", ping)]
PY
    file django-mangum/main.py <<'PY'
import os

from django.core.asgi import get_asgi_application
from mangum import Mangum

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
handler = Mangum(get_asgi_application(), lifespan="off")
PY
fi

if want powertools-api; then
    init powertools-api --app 3.13
    add powertools-api aws-lambda-powertools
    file powertools-api/main.py <<'PY'
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

app = APIGatewayHttpResolver()


@app.post("/orders")
def create_order() -> dict[str, Any]:
    order = app.current_event.json_body
    return {"created": order["id"], "items": len(order["items"])}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
PY
fi

if want psycopg3-app; then
    init psycopg3-app --app 3.12
    add psycopg3-app "psycopg[binary]"
    file psycopg3-app/main.py <<'PY'
from typing import Any

import psycopg


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # No database here: the import, the compiled implementation and libpq's version.
    return {"psycopg": psycopg.__version__, "impl": psycopg.pq.__impl__, "libpq": psycopg.pq.version()}
PY
fi

if want psycopg2-app; then
    init psycopg2-app --app 3.11
    add psycopg2-app psycopg2-binary
    file psycopg2-app/main.py <<'PY'
from typing import Any

import psycopg2
import psycopg2.extensions


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"psycopg2": psycopg2.__version__, "libpq": psycopg2.extensions.libpq_version()}
PY
fi

if want numpy-pandas; then
    init numpy-pandas --app 3.12
    add numpy-pandas numpy pandas
    file numpy-pandas/main.py <<'PY'
import json
from typing import Any

import numpy as np
import pandas as pd


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    rows = [row for record in event["Records"] for row in json.loads(record["body"])]
    frame = pd.DataFrame(rows)
    return {"rows": len(frame), "total": float(frame["amount"].sum()), "mean": float(np.mean(frame["amount"]))}
PY
fi

if want pillow-arm64; then
    init pillow-arm64 --app 3.12
    add pillow-arm64 pillow
    file pillow-arm64/main.py <<'PY'
import io
from typing import Any

from PIL import Image


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    image = Image.new("RGB", (640, 480), "teal")
    image.thumbnail((128, 128))
    out = io.BytesIO()
    image.save(out, "WEBP")
    return {"size": list(image.size), "bytes": len(out.getvalue())}
PY
    tool pillow-arm64 'architecture = "arm64"'
fi

if want orjson-ujson-311; then
    init orjson-ujson-311 --app 3.11
    # orjson 3.9 wheels carry a compressed tag set on one Tag: line (older maturin).
    add orjson-ujson-311 orjson==3.9.15 ujson
    file orjson-ujson-311/main.py <<'PY'
from typing import Any

import orjson
import ujson


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail = event["detail"]
    return {
        "orjson": orjson.__version__,
        "ujson": ujson.__version__,
        "same": orjson.loads(ujson.dumps(detail)) == detail,
    }
PY
fi

if want fastapi-pydantic210; then
    # A lock of the pydantic 2.10 era: pydantic-core 2.27, built by maturin <= 1.9.
    init fastapi-pydantic210 --app 3.12 2025-01-15T00:00:00Z
    add fastapi-pydantic210 fastapi==0.115.6 pydantic==2.10.5 mangum
    file fastapi-pydantic210/main.py <<'PY'
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
PY
fi

if want sdist-docopt; then
    init sdist-docopt --app 3.12
    add sdist-docopt docopt==0.6.2
    file sdist-docopt/main.py <<'PY'
from typing import Any

from docopt import docopt

USAGE = """Usage: cli ship <order> [--fast]"""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(docopt(USAGE, argv=event["detail"]["argv"]))
PY
fi

if want sdist-with-c; then
    init sdist-with-c --app 3.12
    add sdist-with-c crcmod==1.7
    file sdist-with-c/main.py <<'PY'
from typing import Any

import crcmod.predefined


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"crc32": crcmod.predefined.mkCrcFun("crc-32")(b"lambda")}
PY
fi

if want namespace-deps; then
    init namespace-deps --app 3.13
    # Both install into one PEP 420 namespace folder, jaraco/.
    add namespace-deps jaraco.functools jaraco.context
    file namespace-deps/main.py <<'PY'
from typing import Any

from jaraco.context import suppress
from jaraco.functools import compose


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with suppress(KeyError):
        return {"composed": compose(str.upper, str.strip)(event["detail"]["name"])}
    return {"composed": None}
PY
fi

if want package-data; then
    init package-data --package 3.13
    file package-data/src/package_data/prices.json <<'JSON'
{"apple": 0.5, "pear": 0.75}
JSON
    file package-data/src/package_data/handler.py <<'PY'
import json
from importlib.resources import files
from pathlib import PurePosixPath
from typing import Any

PRICES = json.loads(files("package_data").joinpath("prices.json").read_text())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    fruit = PurePosixPath(event["Records"][0]["s3"]["object"]["key"]).stem
    return {"fruit": fruit, "price": PRICES[fruit]}
PY
    tool package-data 'handler = "package_data.handler.handler"'
fi

if want path-dependency; then
    init greetlib --lib 3.13
    file greetlib/src/greetlib/__init__.py <<'PY'
def greet(name: str) -> str:
    return f"Hello, {name}!"
PY
    init path-dependency --app 3.13
    # A path source outside the project (and outside any workspace).
    add path-dependency ../greetlib
    file path-dependency/main.py <<'PY'
from typing import Any

from greetlib import greet


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"message": greet(event["detail"]["name"])}
PY
fi

if want virtual-workspace; then
    dir=$ROOT/virtual-workspace
    rm -rf "$dir"
    mkdir -p "$dir"
    printf '[tool.uv.workspace]\nmembers = ["functions/*", "libs/*"]\n\n[tool.uv]\nexclude-newer = "%s"\n' \
        "$EXCLUDE_NEWER" >"$dir/pyproject.toml"
    (cd "$dir" && uv init --quiet --vcs none --no-readme --author-from none --lib -p 3.13 libs/common)
    file virtual-workspace/libs/common/src/common/__init__.py <<'PY'
def stamp(what: str) -> str:
    return f"{what}, stamped by common"
PY
    (cd "$dir" && uv init --quiet --vcs none --no-readme --author-from none --bare -p 3.13 functions/orders)
    (cd "$dir" && uv init --quiet --vcs none --no-readme --author-from none --app -p 3.13 functions/users)
    (cd "$dir/functions/orders" && uv add --quiet --no-sync common attrs --bounds exact)
    (cd "$dir/functions/users" && uv add --quiet --no-sync common --bounds exact)
    file virtual-workspace/functions/orders/handler.py <<'PY'
from typing import Any

import attrs
from common import stamp


@attrs.frozen
class Order:
    id: str


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"order": stamp(Order(event["detail"]["id"]).id)}
PY
    file virtual-workspace/functions/users/main.py <<'PY'
from typing import Any

from common import stamp


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"user": stamp(event["detail"]["id"])}
PY
fi

if want init-app; then
    init init-app --app 3.13
    add init-app python-dateutil
    file init-app/main.py <<'PY'
from typing import Any

from dateutil.parser import isoparse


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"weekday": isoparse(event["detail"]["when"]).strftime("%A")}
PY
fi

if want init-package; then
    init init-package --package 3.12
    add init-package pyyaml
    file init-package/src/init_package/handler.py <<'PY'
from typing import Any

import yaml


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"parsed": yaml.safe_load(event["Records"][0]["body"]), "libyaml": yaml.__with_libyaml__}
PY
    tool init-package 'handler = "init_package.handler.handler"'
fi

if want init-lib; then
    init init-lib --lib 3.11
    add init-lib requests
    file init-lib/lambda_function.py <<'PY'
from typing import Any

import charset_normalizer
import requests


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    request = requests.Request("GET", "https://example.com/search", params=event["queryStringParameters"]).prepare()
    return {"url": str(request.url), "charset_normalizer": charset_normalizer.__version__}
PY
fi

if want init-bare; then
    init init-bare --bare 3.10
    add init-bare markupsafe
    file init-bare/handler.py <<'PY'
from typing import Any

from markupsafe import escape


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"html": str(escape(event["Records"][0]["Sns"]["Message"]))}
PY
fi

if want runtimes; then
    init runtimes --app 3.10
    add runtimes markupsafe "tomli; python_version < '3.11'"
    file runtimes/main.py <<'PY'
import importlib.util
import platform
import sys
from typing import Any

from markupsafe import escape


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "python": "{}.{}".format(*sys.version_info[:2]),
        "machine": platform.machine(),
        "tomli": importlib.util.find_spec("tomli") is not None,
        "escaped": str(escape("<lambda>")),
    }
PY
fi

if want exclude-newer; then
    init exclude-newer --app 3.12 2024-06-01T00:00:00Z
    add exclude-newer requests
    file exclude-newer/main.py <<'PY'
from typing import Any

import requests


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"requests": requests.__version__}
PY
fi

if want default-groups; then
    init default-groups --app 3.13
    add default-groups structlog
    add default-groups --dev ruff
    add default-groups --group test pytest
    sed -i 's/^exclude-newer = .*/&\ndefault-groups = ["dev", "test"]/' "$ROOT/default-groups/pyproject.toml"
    (cd "$ROOT/default-groups" && uv lock --quiet)
    file default-groups/main.py <<'PY'
import importlib.util
from typing import Any

import structlog


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    structlog.get_logger().info("checked", source=event["source"])
    return {"pytest_shipped": importlib.util.find_spec("pytest") is not None}
PY
fi

if want vendored-wheel; then
    init vendored-wheel --app 3.13
    scratch=$(mktemp -d)
    uv init --quiet --vcs none --no-readme --author-from none --lib -p 3.13 --name acme-tools "$scratch/acme-tools"
    sed -i 's/^version = .*/version = "1.0"/' "$scratch/acme-tools/pyproject.toml"
    printf 'def shout(text: str) -> str:\n    return text.upper() + "!"\n' >"$scratch/acme-tools/src/acme_tools/__init__.py"
    mkdir -p "$ROOT/vendored-wheel/vendor"
    SOURCE_DATE_EPOCH=315532800 uv build --quiet --wheel --out-dir "$ROOT/vendored-wheel/vendor" "$scratch/acme-tools"
    rm -rf "$scratch" "$ROOT/vendored-wheel/vendor/.gitignore"  # uv build ignores its own output
    add vendored-wheel ./vendor/acme_tools-1.0-py3-none-any.whl
    file vendored-wheel/main.py <<'PY'
from typing import Any

from acme_tools import shout


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"said": shout(event["Records"][0]["body"])}
PY
fi

if want namespace-app; then
    init namespace-app --bare 3.12
    add namespace-app attrs
    # app/ has no __init__.py: a namespace package holding the handler's module.
    file namespace-app/app/main.py <<'PY'
from typing import Any

import attrs


@attrs.define
class Reply:
    path: str


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": attrs.asdict(Reply(event["rawPath"]))["path"]}
PY
fi

if want caller; then
    # Not a function: the folder the "built from elsewhere" entries run in. Its own uv
    # settings must not reach the projects it builds, nor the tool's own installs.
    init caller --app 3.13 2020-01-01T00:00:00Z 'index-url = "http://127.0.0.1:9/simple"'
    rm -f "$ROOT/caller/uv.lock"
fi

# Every lock must agree with its pyproject.toml.
for lock in $(find "$ROOT" -name uv.lock); do (cd "$(dirname "$lock")" && uv lock --check --quiet); done
