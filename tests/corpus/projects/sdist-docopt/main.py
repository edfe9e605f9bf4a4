from typing import Any

from docopt import docopt

USAGE = """Usage: cli ship <order> [--fast]"""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(docopt(USAGE, argv=event["detail"]["argv"]))
