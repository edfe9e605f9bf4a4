"""The caller's AWS credentials and region, passed to the function as `sam local` does."""

from __future__ import annotations

import contextlib
import logging
import os

from uv_lambda.emulator.limits import DEFAULT_REGION

log = logging.getLogger(__name__)

_ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def caller_credentials() -> dict[str, str]:
    """AWS_ACCESS_KEY_ID/SECRET/SESSION_TOKEN from the environment or the caller's profile.

    Only local sources are consulted (environment, shared files, SSO cache, credential
    process): never the instance metadata service, whose time-outs would stall a local run.
    """
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return {key: os.environ[key] for key in _ENV_KEYS if os.environ.get(key)}
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
