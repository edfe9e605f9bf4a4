"""The caller's AWS credentials and region, passed to the function as `sam local` does."""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import threading

from uv_lambda.limits import DEFAULT_REGION

log = logging.getLogger(__name__)

_ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


_prefetched: list[concurrent.futures.Future[dict[str, str]]] = []


def prefetch() -> None:
    """Start looking for the caller's credentials on a thread (botocore takes a while to
    import): a local run does it while it builds, and `caller_credentials` then takes it."""
    future: concurrent.futures.Future[dict[str, str]] = concurrent.futures.Future()

    def look() -> None:
        try:
            future.set_result(_credentials())
        except BaseException as exc:  # never leave the caller waiting
            future.set_exception(exc)

    _prefetched[:] = [future]
    threading.Thread(target=look, name="caller-credentials", daemon=True).start()


def caller_credentials() -> dict[str, str]:
    """AWS_ACCESS_KEY_ID/SECRET/SESSION_TOKEN from the environment or the caller's profile.

    Only local sources are consulted (environment, shared files, SSO cache, credential
    process): never the instance metadata service, whose time-outs would stall a local run.
    """
    if _prefetched:
        return _prefetched.pop().result()
    return _credentials()


def _no_local_source() -> bool:
    """None of the files or variables botocore reads credentials from is there."""
    home = os.path.expanduser("~")
    files = [
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(home, ".aws", "credentials"),
        os.environ.get("AWS_CONFIG_FILE") or os.path.join(home, ".aws", "config"),
        os.environ.get("BOTO_CONFIG") or os.path.join(home, ".boto"),
        "/etc/boto.cfg",
    ]
    return not os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE") and not any(os.path.exists(f) for f in files)


def _credentials() -> dict[str, str]:
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return {key: os.environ[key] for key in _ENV_KEYS if os.environ.get(key)}
    if _no_local_source():
        return {}  # without importing botocore (half a second)
    try:
        import botocore.session

        session = botocore.session.Session()
        resolver = session.get_component("credential_provider")
        for remote in ("iam-role", "container-role"):
            with contextlib.suppress(KeyError, ValueError):
                resolver.remove(remote)
        found = session.get_credentials()
    except Exception as exc:  # a broken profile must not stop a local run
        log.debug("no caller credentials: %s", exc)
        return {}
    if found is None:
        return {}
    frozen = found.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        return {}
    values: dict[str, str] = {"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key}
    if frozen.token:
        values["AWS_SESSION_TOKEN"] = frozen.token
    return values


def caller_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
