"""The real AWS CLI (the `awscli` of the test extra, or a v2 on PATH) pointed at a local endpoint.

v1 and v2 differ in one way that matters here: v2 reads `--payload` as base64 unless told
`--cli-binary-format raw-in-base64-out`, an option v1 does not know.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AwsCli:
    path: str
    major: int  # 1 or 2

    def env(self) -> dict[str, str]:
        """This environment with fake credentials and no AWS configuration files."""
        return {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def lambda_invoke(self, endpoint_url: str, function_name: str, payload: Path, out: Path) -> list[str]:
        """`aws lambda invoke` of `payload` (a JSON file), the answer written to `out`."""
        binary_format = ["--cli-binary-format", "raw-in-base64-out"] if self.major >= 2 else []
        return [
            self.path,
            "lambda",
            "invoke",
            "--endpoint-url",
            endpoint_url,
            "--function-name",
            function_name,
            "--payload",
            f"file://{payload}",
            *binary_format,
            str(out),
        ]
