"""A real S3-compatible server on loopback for tests: moto's server, in a child process.

Credentials are fake and live only in the environment handed to what a test starts
(``AWS_ENV``) or in a boto3 session built here: the test process's own environment, and
any AWS configuration of the machine, are never read or changed.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import httpx
from botocore.config import Config  # type: ignore[import-untyped]

from inference import die_with_parent
from tests.support.net import free_port, wait_until

__all__ = ["AWS_ENV", "MotoS3"]

_KEY_ID = "test-key-id"
_SECRET = "test-secret"
_REGION = "us-east-1"

# What a ragway process started by a test gets: fake credentials, and no AWS files or
# instance metadata from this machine.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": _KEY_ID,
    "AWS_SECRET_ACCESS_KEY": _SECRET,
    "AWS_DEFAULT_REGION": _REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


class MotoS3:
    """``moto_server`` on a free loopback port; ``bucket()`` makes a bucket of a test's own."""

    def __init__(self, log: Path, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout_s: float = 60.0) -> MotoS3:
        with self._log.open("ab") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                env={**os.environ, **AWS_ENV},
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # never outlives a killed test run
            )
        wait_until(self._ready, timeout_s=timeout_s, interval_s=0.1)
        return self

    def _ready(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {self._process.returncode}")
        try:
            httpx.get(f"{self.url}/moto-api/", timeout=1.0)
        except httpx.TransportError:
            return False
        return True

    def session(self) -> Any:
        """A boto3 session with the fake credentials (never the machine's)."""
        return boto3.session.Session(
            aws_access_key_id=_KEY_ID, aws_secret_access_key=_SECRET, region_name=_REGION
        )

    def client(self) -> Any:
        """A plain client of the server: what a test uses to look at or tamper with objects."""
        return self.session().client(
            "s3",
            endpoint_url=self.url,
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
        )

    def bucket(self, prefix: str = "test") -> str:
        """A new, empty bucket."""
        name = f"{prefix}-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> MotoS3:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
