from typing import Any

import psycopg


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # No database here: the import, the compiled implementation and libpq's version.
    return {"psycopg": psycopg.__version__, "impl": psycopg.pq.__impl__, "libpq": psycopg.pq.version()}
