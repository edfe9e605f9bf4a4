"""The caller's credentials for a local run (emulator/aws_credentials.py): looked up while the
function builds, from the caller's files, and without botocore when there are none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from uv_lambda.emulator.aws_credentials import caller_credentials, prefetch

_AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


def test_a_prefetched_lookup_reads_the_shared_credentials_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_access_key_id = AKIAFROMFILE\naws_secret_access_key = secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    prefetch()
    assert caller_credentials() == {"AWS_ACCESS_KEY_ID": "AKIAFROMFILE", "AWS_SECRET_ACCESS_KEY": "secret"}


def test_without_any_source_botocore_is_not_imported(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
    env["HOME"] = str(tmp_path)  # no ~/.aws, no ~/.boto
    script = (
        "import sys\nfrom uv_lambda.emulator.aws_credentials import caller_credentials\n"
        "print(caller_credentials(), 'botocore' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    expected = "{} False" if not Path("/etc/boto.cfg").exists() else "{} True"
    assert completed.stdout.strip() == expected
