"""A client for the OCI distribution API: read manifests and blobs, push blobs and manifests.

Authentication follows the registry's 401 challenge: `Basic` (a private registry, ECR's
token as a password) or `Bearer` (a token from the realm it names, anonymous when no
credentials are known, as public registries hand out for pulls). Every failure becomes one
RegistryError line that names the registry and the image reference.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPResponse
from pathlib import Path
from typing import IO, Any

from uv_lambda import atomic
from uv_lambda.errors import BuildError
from uv_lambda.image.auth import Challenge, Credentials, parse_challenge, token_from, token_url
from uv_lambda.image.auth import scope as access
from uv_lambda.image.oci import ACCEPT_MANIFESTS, sha256_digest
from uv_lambda.image.reference import Reference

log = logging.getLogger(__name__)

# Blobs above this go up in chunks (PATCH): ECR takes parts of at most 20 MiB, and every
# part but the last must be at least 5 MiB.
DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024
_COPY_BUFFER = 1024 * 1024


def _login_hint(registry: str) -> str:
    return (
        "set UV_LAMBDA_REGISTRY_USERNAME and UV_LAMBDA_REGISTRY_PASSWORD, or log in with "
        f"`docker login {registry}` (uv-lambda reads ~/.docker/config.json)"
    )


class RegistryError(BuildError):
    """A registry could not be reached, refused us, or does not have what we asked for."""


class TransientRegistryError(RegistryError):
    """A failure worth another try: throttling (429), a 5xx, a dropped or timed-out connection."""


class _DroppedConnection(TransientRegistryError):
    """The connection broke while a response body was read: the whole request is sent again."""


# Statuses registries (ECR especially) answer when busy; the same request may well succeed later.
_TRANSIENT_STATUSES = {429, 500, 502, 503, 504}
# Requests that can simply be sent again; a blob upload is retried whole instead (a new session).
_RESENDABLE = {"GET", "HEAD"}


def registry_error_text(body: bytes) -> str:
    """The `errors` array of a distribution API error body, as `CODE: message`."""
    try:
        errors = json.loads(body or b"{}").get("errors") or []
        parts = [f"{err.get('code', '?')}: {err.get('message', '')}".strip() for err in errors]
        return "; ".join(parts)
    except (ValueError, AttributeError):
        return body[:200].decode(errors="replace").strip()


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""


@dataclass(frozen=True)
class _Call:
    """One request to a registry, and what it is for: the token `scope` it needs, and the
    reference and what was being done (`reading`, `pushing`) that an error message names."""

    method: str
    path: str
    ref: Reference
    scope: str
    doing: str
    headers: dict[str, str] | None = None
    body: Path | bytes | None = None
    resend: bool = False  # may be sent again after a transient failure (GET and HEAD always may)

    @property
    def resendable(self) -> bool:
        return self.resend or self.method in _RESENDABLE


def _blob_read(ref: Reference, digest: str) -> _Call:
    return _Call(
        "GET", f"/v2/{ref.repository}/blobs/{digest}", ref=ref, scope=access(ref.repository, "pull"), doing="reading"
    )


@dataclass
class RegistryClient:
    """One registry host; keeps what it learned about authentication between requests.

    Safe to share between threads (pushes upload several blobs at once): the counter is
    locked, and two threads answering the same challenge only fetch the same token twice.
    """

    registry: str  # host[:port]
    credentials: Credentials | None = None
    plain_http: bool = False
    timeout: float = 60.0
    chunk_size: int = DEFAULT_CHUNK_SIZE
    attempts: int = 4  # tries per request (or per blob upload) on transient failures
    backoff: float = 1.0  # seconds before the second try, doubling after each
    bytes_uploaded: int = 0
    _basic: str | None = field(default=None, repr=False)
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ---- reading -------------------------------------------------------------------------

    def get_manifest(self, ref: Reference) -> tuple[str, bytes, str]:
        """(media type, bytes, digest) of the manifest or index `ref` names."""
        response = self._request(
            _Call(
                "GET",
                f"/v2/{ref.repository}/manifests/{ref.identifier}",
                ref=ref,
                scope=access(ref.repository, "pull"),
                headers={"Accept": ACCEPT_MANIFESTS},
                doing="reading",
            )
        )
        if response.status == 404:
            raise RegistryError(
                f"image {ref} not found: registry {self.registry} has no such repository or tag "
                f"({registry_error_text(response.body) or '404'})",
                "check the repository and tag (or push the image first)",
            )
        self._expect(response, {200}, ref, "reading")
        digest = sha256_digest(response.body)
        if ref.digest and digest != ref.digest:
            raise RegistryError(
                f"registry {self.registry} returned a manifest for {ref} whose digest is {digest}",
                "the registry or a proxy in between altered it; try again or use another mirror",
            )
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        declared = json.loads(response.body).get("mediaType")
        return str(declared or media_type), response.body, digest

    def get_blob(self, ref: Reference, digest: str) -> bytes:
        """A small blob (a config) held in memory, checked against its digest."""
        response = self._request(_blob_read(ref, digest))
        self._expect_blob(response, ref, digest)
        if sha256_digest(response.body) != digest:
            raise RegistryError(f"blob {digest} of {ref} from {self.registry} is corrupt", "try again")
        return response.body

    def download_blob(self, ref: Reference, digest: str, dest: Path) -> int:
        """Stream a blob into `dest` (written under a temporary name, renamed when verified)."""
        for attempt in range(1, self.attempts + 1):
            try:
                return self._download_once(ref, digest, dest)
            except _DroppedConnection:  # other failures were already retried by _open
                if attempt == self.attempts:
                    raise
                self._pause(attempt, None)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _download_once(self, ref: Reference, digest: str, dest: Path) -> int:
        with self._open(_blob_read(ref, digest)) as (status, headers, stream):
            if status != 200:
                self._expect_blob(Response(status, headers, self._read(stream, ref, "reading")), ref, digest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            hasher = hashlib.sha256()
            size = 0
            with atomic.replacing(dest) as temporary:
                with open(temporary, "xb") as out:
                    while chunk := self._read(stream, ref, "reading", _COPY_BUFFER):
                        hasher.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                if f"sha256:{hasher.hexdigest()}" != digest:
                    raise RegistryError(f"blob {digest} of {ref} from {self.registry} is corrupt", "try again")
        return size

    # ---- writing -------------------------------------------------------------------------

    def blob_exists(self, ref: Reference, digest: str) -> bool:
        response = self._request(
            _Call(
                "HEAD",
                f"/v2/{ref.repository}/blobs/{digest}",
                ref=ref,
                scope=access(ref.repository, "pull,push"),
                doing="pushing",
            )
        )
        if response.status == 404:
            return False
        self._expect(response, {200}, ref, "pushing")
        return True

    def mount_blob(self, ref: Reference, digest: str, from_repository: str) -> bool:
        """Ask the registry to link a blob it holds in another repository; False if it won't."""
        query = urllib.parse.urlencode({"mount": digest, "from": from_repository})
        response = self._request(
            _Call(
                "POST",
                f"/v2/{ref.repository}/blobs/uploads/?{query}",
                ref=ref,
                scope=f"{access(ref.repository, 'pull,push')} {access(from_repository, 'pull')}",
                headers={"Content-Length": "0"},
                body=b"",
                doing="pushing",
                resend=True,  # at worst a second try opens an upload session, which is cancelled
            )
        )
        if response.status == 201:
            return True
        self._expect(response, {202}, ref, "pushing")
        # 202: the registry opened an ordinary upload instead; cancel it, we upload separately.
        location = response.headers.get("location")
        if location:
            self._request(
                _Call(
                    "DELETE",
                    location,
                    ref=ref,
                    scope=access(ref.repository, "pull,push"),
                    doing="pushing",
                )
            )
        return False

    def upload_blob(self, ref: Reference, digest: str, source: Path | bytes) -> None:
        """Upload a blob: one PUT when small, PATCH chunks then PUT when large.

        A transient failure anywhere restarts the upload in a new session: a session that saw
        an error may be gone, and a fresh one is always valid.
        """
        for attempt in range(1, self.attempts + 1):
            try:
                self._upload_blob_once(ref, digest, source)
                return
            except TransientRegistryError:
                if attempt == self.attempts:
                    raise
                self._pause(attempt, None)

    def _upload_blob_once(self, ref: Reference, digest: str, source: Path | bytes) -> None:
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        wanted = access(ref.repository, "pull,push")
        started = self._request(
            _Call(
                "POST",
                f"/v2/{ref.repository}/blobs/uploads/",
                ref=ref,
                scope=wanted,
                headers={"Content-Length": "0"},
                body=b"",
                doing="pushing",
            )
        )
        self._expect(started, {202}, ref, "pushing")
        location = started.headers.get("location", "")
        if size > self.chunk_size:
            with _chunks_of(source) as stream:
                offset = 0
                while chunk := stream.read(self.chunk_size):
                    patched = self._request(
                        _Call(
                            "PATCH",
                            location,
                            ref=ref,
                            scope=wanted,
                            headers={
                                "Content-Type": "application/octet-stream",
                                "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                                "Content-Length": str(len(chunk)),
                            },
                            body=chunk,
                            doing="pushing",
                        )
                    )
                    self._expect(patched, {202}, ref, "pushing")
                    location = patched.headers.get("location", location)
                    offset += len(chunk)
                    self._count_sent(len(chunk))
            body: Path | bytes = b""
        else:
            body = source
            self._count_sent(size)
        finished = self._request(
            _Call(
                "PUT",
                _add_query(location, {"digest": digest}),
                ref=ref,
                scope=wanted,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(0 if body == b"" else size),
                },
                body=body,
                doing="pushing",
            )
        )
        self._expect(finished, {201}, ref, "pushing")

    def put_manifest(self, ref: Reference, media_type: str, manifest: bytes) -> str:
        response = self._request(
            _Call(
                "PUT",
                f"/v2/{ref.repository}/manifests/{ref.identifier}",
                ref=ref,
                scope=access(ref.repository, "pull,push"),
                headers={"Content-Type": media_type, "Content-Length": str(len(manifest))},
                body=manifest,
                doing="pushing",
                resend=True,  # a manifest PUT is idempotent
            )
        )
        self._expect(response, {201}, ref, "pushing")
        self._count_sent(len(manifest))
        return sha256_digest(manifest)

    # ---- plumbing ------------------------------------------------------------------------

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        """Wait before another try: Retry-After when the registry says (capped), else backoff."""
        delay = self.backoff * 2 ** (attempt - 1)
        if retry_after and retry_after.strip().isdigit():
            delay = min(float(retry_after), 30.0)
        log.debug("registry %s: transient failure, trying again in %.1f s", self.registry, delay)
        time.sleep(delay)

    def _count_sent(self, size: int) -> None:
        with self._lock:
            self.bytes_uploaded += size

    @property
    def base_url(self) -> str:
        return f"{'http' if self.plain_http else 'https'}://{self.registry}"

    def _request(self, call: _Call) -> Response:
        for attempt in range(1, self.attempts + 1):
            try:
                with self._open(call) as (status, response_headers, stream):
                    return Response(status, response_headers, self._read(stream, call.ref, call.doing))
            except _DroppedConnection:  # other failures were already retried by _open
                if not call.resendable or attempt == self.attempts:
                    raise
                self._pause(attempt, None)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _read(self, stream: IO[bytes], ref: Reference, doing: str, size: int = -1) -> bytes:
        """Read a response body; a connection dropped halfway is a transient failure."""
        try:
            return stream.read(size)
        except (OSError, http.client.HTTPException) as error:
            raise _DroppedConnection(
                f"registry {self.registry} dropped the connection while {doing} {ref} ({type(error).__name__})",
                "check your network and try again",
            ) from None

    @contextmanager
    def _open(self, call: _Call) -> Iterator[tuple[int, dict[str, str], IO[bytes]]]:
        """Send a request, answering one 401 challenge and, for requests that can be sent
        again, retrying transient failures; yields (status, headers, body stream)."""
        method, scope, ref, doing = call.method, call.scope, call.ref, call.doing
        url = urllib.parse.urljoin(self.base_url, call.path)
        resend = call.resendable
        authenticated = False
        attempt = 0
        while True:
            attempt += 1
            try:
                with _reader(call.body) as data:
                    request = urllib.request.Request(url, data=data, method=method, headers=call.headers or {})
                    authorization = self._basic or self._tokens.get(scope)
                    if authorization:
                        # Unredirected: blob downloads are redirected to storage that rejects it.
                        request.add_unredirected_header("Authorization", authorization)
                    log.debug("registry: %s %s", method, url)
                    response = self._send(request, ref, doing)
            except TransientRegistryError:
                if not resend or attempt >= self.attempts:
                    raise
                self._pause(attempt, None)
                continue
            status, response_headers = (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
            )
            if status in _TRANSIENT_STATUSES and resend and attempt < self.attempts:
                response.read()
                response.close()
                self._pause(attempt, response_headers.get("retry-after"))
                continue
            if status == 401 and not authenticated:
                authenticated = True
                challenge = response_headers.get("www-authenticate", "")
                response.read()
                response.close()
                self._authenticate(parse_challenge(challenge), scope, ref)
                continue
            if status == 401:
                response.close()
                # Anonymous access got a token, just not one that allows this (a push, say).
                problem = "needs a login" if self.credentials is None else "refused the credentials"
                raise RegistryError(
                    f"registry {self.registry} {problem} for {ref} (401 Unauthorized)",
                    _login_hint(self.registry),
                )
            try:
                yield status, response_headers, response
            finally:
                response.close()
            return

    def _send(self, request: urllib.request.Request, ref: Reference, doing: str) -> HTTPResponse | Any:
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            return error  # an HTTPError is a response too: its status is ours to interpret
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason: object = getattr(error, "reason", error)
            # A refused connection or an unknown host will not change in a second: fail now.
            transient = not isinstance(reason, ConnectionRefusedError | socket.gaierror)
            if isinstance(reason, socket.timeout | TimeoutError):
                reason = f"no answer within {self.timeout:.0f} s"
            elif isinstance(reason, OSError) and reason.strerror:
                reason = reason.strerror.lower()
            elif isinstance(error, http.client.HTTPException):
                reason = f"connection dropped: {type(error).__name__}"
            raise (TransientRegistryError if transient else RegistryError)(
                f"registry {self.registry} is unreachable ({reason}) while {doing} {ref}",
                "check the registry address and your network; registries on this machine are "
                "spoken to over http, all others over https",
            ) from None

    def _authenticate(self, challenge: Challenge, scope: str, ref: Reference) -> None:
        if challenge.scheme == "basic":
            if self.credentials is None:
                raise RegistryError(
                    f"registry {self.registry} needs a login for {ref} (401 Unauthorized)",
                    _login_hint(self.registry),
                )
            self._basic = self.credentials.basic_header()
            return
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            raise RegistryError(
                f"registry {self.registry} asked for unsupported authentication "
                f"{challenge.scheme or 'none'!r} for {ref}",
                "use a registry that supports Basic or Bearer token authentication",
            )
        self._tokens[scope] = f"Bearer {self._fetch_token(challenge, scope, ref)}"

    def _fetch_token(self, challenge: Challenge, scope: str, ref: Reference) -> str:
        request = urllib.request.Request(token_url(challenge, scope))
        if self.credentials is not None:
            request.add_unredirected_header("Authorization", self.credentials.basic_header())
        response = self._send(request, ref, "authenticating for")
        body = response.read()
        response.close()
        if response.status in (401, 403):
            raise RegistryError(
                f"registry {self.registry} refused the credentials for {ref} "
                f"({response.status} from its token service)",
                _login_hint(self.registry),
            )
        token = token_from(body)
        if token is None:
            raise RegistryError(
                f"registry {self.registry} gave no token for {ref} (HTTP {response.status})",
                "check the registry address",
            )
        return token

    def _expect(self, response: Response, statuses: set[int], ref: Reference, doing: str) -> None:
        if response.status in statuses:
            return
        detail = registry_error_text(response.body) or "no details"
        if response.status in _TRANSIENT_STATUSES:
            raise TransientRegistryError(
                f"registry {self.registry} kept failing while {doing} {ref} (HTTP {response.status}: {detail})",
                "the registry is overloaded or down; try again later",
            )
        if doing == "pushing":
            raise RegistryError(
                f"registry {self.registry} refused the push of {ref} (HTTP {response.status}: {detail})",
                "check that the repository exists and that these credentials may push to it",
            )
        raise RegistryError(
            f"registry {self.registry} failed while {doing} {ref} (HTTP {response.status}: {detail})",
            "try again; if it persists, check the registry's status",
        )

    def _expect_blob(self, response: Response, ref: Reference, digest: str) -> None:
        if response.status == 404:
            raise RegistryError(
                f"registry {self.registry} has no blob {digest} for {ref}",
                "the image is incomplete on the registry; push it again",
            )
        self._expect(response, {200}, ref, "reading")


def _add_query(location: str, params: dict[str, str]) -> str:
    return location + ("&" if "?" in location else "?") + urllib.parse.urlencode(params)


@contextmanager
def _chunks_of(source: Path | bytes) -> Iterator[IO[bytes]]:
    if isinstance(source, Path):
        with source.open("rb") as handle:
            yield handle
    else:
        yield io.BytesIO(source)


@contextmanager
def _reader(source: Path | bytes | None) -> Iterator[IO[bytes] | bytes | None]:
    """A fresh stream over `source` for each attempt: a retried request re-sends its body."""
    if isinstance(source, Path):
        with source.open("rb") as handle:
            yield handle
    else:
        yield source
