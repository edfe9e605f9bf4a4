from typing import Any

import psycopg2
import psycopg2.extensions


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"psycopg2": psycopg2.__version__, "libpq": psycopg2.extensions.libpq_version()}
