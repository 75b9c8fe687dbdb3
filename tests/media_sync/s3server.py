"""A local S3 for the tests: moto's server mode on a loopback port, reached over real HTTP by boto3 and
django-storages, credentials from the environment only (never ~/.aws, never the instance metadata).
Shared by test_s3_media.py (media on S3) and test_audit_archive_s3.py (audit archives to S3); a module
imports the fixtures it uses under any name (each is registered by its `name`)."""

from __future__ import annotations

import logging
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
import requests
from botocore.config import Config  # type: ignore[import-untyped]
from moto.server import ThreadedMotoServer

ACCESS_KEY_ID = "AKIAMEDIASYNCTESTKEY"
SECRET_ACCESS_KEY = "media-sync/test+secret-never-in-a-link"
REGION = "us-east-1"
DEADLINE_S = 30


@dataclass(frozen=True)
class Bucket:
    endpoint: str
    name: str
    client: Any  # boto3's S3 client (boto3 ships no types)

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name)
        return sorted(entry["Key"] for entry in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())


@pytest.fixture(name="s3_deadline")
def s3_deadline_set() -> Iterator[None]:
    """No test may hang on a stuck server: botocore's own timeouts and retries run to minutes."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"the test ran past {DEADLINE_S} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, DEADLINE_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module", name="s3_endpoint")
def s3_endpoint_started() -> Iterator[str]:
    """moto's S3 on a free loopback port, for the module's tests; each test makes its own bucket."""
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug_log.setLevel(level)


@pytest.fixture(name="s3_bucket")
def s3_bucket_made(
    s3_endpoint: str, settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Bucket:
    """A fresh bucket, and the AWS_* settings and environment pointing at it the way config/settings.py
    reads them; the AWS_* settings the test does not name keep their config/settings.py values."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_S3_SESSION_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # Credentials from the environment only: no ~/.aws files, never the instance metadata service.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    bucket = f"media-sync-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )
    client.create_bucket(Bucket=bucket)

    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = s3_endpoint
    settings.AWS_S3_REGION_NAME = REGION
    return Bucket(endpoint=s3_endpoint, name=bucket, client=client)


@contextmanager
def s3_credentials_checked(endpoint: str, *, after: int = 0) -> Iterator[None]:
    """moto's server checks every request's access key once `after` more requests have gone through (it
    knows none of ours, so S3 answers InvalidAccessKeyId, as AWS does for a revoked key); back to
    accepting any key afterwards."""
    requests.post(f"{endpoint}/moto-api/reset-auth", data=str(after).encode(), timeout=5).raise_for_status()
    try:
        yield
    finally:
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"inf", timeout=5).raise_for_status()
