"""Registry authentication, the pure part: logins, 401 challenges, token requests and answers.

A registry answers 401 with `WWW-Authenticate: Basic ...` (send the login) or
`Bearer realm="...",service="..."` (get a token from the realm for the scopes needed;
anonymously when there is no login, which public registries allow for pulls).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def basic_header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" or "bearer", lower-cased
    params: dict[str, str]


_CHALLENGE_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


def parse_challenge(header: str) -> Challenge:
    """Parse a WWW-Authenticate header such as `Bearer realm="...",service="...",scope="..."`."""
    scheme, _, rest = header.strip().partition(" ")
    params = {match[0].lower(): match[1] or match[2] for match in _CHALLENGE_PARAM.findall(rest)}
    return Challenge(scheme.lower(), params)


def scope(repository: str, actions: str) -> str:
    return f"repository:{repository}:{actions}"


def token_url(challenge: Challenge, scopes: str) -> str:
    """The realm's URL asking for `scopes` (space-separated: a mount needs two repositories)."""
    query: list[tuple[str, str]] = []
    if "service" in challenge.params:
        query.append(("service", challenge.params["service"]))
    query.extend(("scope", part) for part in scopes.split())
    realm = challenge.params["realm"]
    return realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)


def token_from(body: bytes) -> str | None:
    """The token of a token service's answer (`token`, or OAuth2's `access_token`)."""
    try:
        data = json.loads(body)
        token = data.get("token") or data.get("access_token")
    except (ValueError, AttributeError):
        return None
    return str(token) if token else None
