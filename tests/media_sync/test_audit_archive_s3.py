"""archive_audit --output s3://BUCKET/PREFIX against a local S3 (moto's server mode, real HTTP): the archive
goes up as objects under its own key, is read back from the bucket and verified, and only then are the rows
removed; verify_audit --archive s3://… checks it on its own. A bucket that is missing, credentials S3
refuses, an endpoint that is down or an object changed before the read-back remove nothing, and say so
without a secret."""

from __future__ import annotations

import io
import json
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.utils import timezone

from media_sync.models import AuditArchive, AuditEvent
from media_sync.services import archive_store
from media_sync.services import audit_archive as archiving
from media_sync.services.seals import audit_seal, audit_verify, column_names
from tests.media_sync.s3server import (  # noqa: F401  (the fixtures s3_bucket, s3_deadline, s3_endpoint)
    SECRET_ACCESS_KEY,
    Bucket,
    s3_bucket_made,
    s3_credentials_checked,
    s3_deadline_set,
    s3_endpoint_started,
)
from tests.media_sync.tampering import old_row
from tests.media_sync.tampering import signing_key_set as _signing  # noqa: F401  (the `signing` fixture)

# Archiving deletes audit rows, which only the owner may (README, "Database roles"): it runs as the owner.
pytestmark = [pytest.mark.django_db, pytest.mark.db_owner, pytest.mark.usefixtures("s3_deadline")]
DAY = 24 * 60


@pytest.fixture
def history() -> tuple[list[AuditEvent], list[AuditEvent]]:
    """Rows of ten days ago (one seal), then of yesterday (another)."""
    old = [
        old_row(minutes=10 * DAY, item=f"old{n}", message=text) for n, text in enumerate(["=1+1", "'q", ""])
    ]
    old.append(old_row(minutes=10 * DAY, http_status=None, duration_ms=7, reference="r-1"))
    audit_seal()
    recent = [old_row(minutes=DAY, item=f"new{n}") for n in range(3)]
    audit_seal()
    return old, recent


def command(*args: str) -> tuple[int, str, str]:
    """A management command's exit code, and what it printed to stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def archive_to(url: str) -> tuple[int, str, str]:
    before = (timezone.localdate() - timedelta(days=5)).isoformat()
    return command("archive_audit", "--before", before, "--output", url)


def nothing_removed(count: int) -> None:
    assert AuditEvent.objects.count() == count and not AuditArchive.objects.exists()


def test_an_archive_to_s3_is_read_back_from_the_bucket_before_the_rows_go(
    s3_bucket: Bucket, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    old, recent = history
    code, out, err = archive_to(f"s3://{s3_bucket.name}/audit/prod")
    where = f"s3://{s3_bucket.name}/audit/prod/audit-1-{old[-1].pk}/"
    assert (code, err) == (0, ""), out
    # The first line says where; the next how the rows went (audit_partitions.audit_rows_remove).
    assert out.splitlines()[0] == f"archived rows 1-{old[-1].pk} ({len(old)} rows) to {where}"
    key = f"audit/prod/audit-1-{old[-1].pk}"
    assert s3_bucket.keys() == [f"{key}/audit.csv", f"{key}/manifest.json"]
    manifest = json.loads(s3_bucket.read(f"{key}/manifest.json"))
    assert (manifest["rows"], manifest["file"], manifest["signature"]["algorithm"]) == (
        4,
        "audit.csv",
        "Ed25519",
    )
    assert "'=1+1" in s3_bucket.read(f"{key}/audit.csv").decode()  # neutralised as in every CSV
    assert list(AuditEvent.objects.values_list("pk", flat=True).order_by("pk")) == [r.pk for r in recent]
    assert AuditArchive.objects.get().location == where
    assert audit_verify().ok
    code, out, _ = command("verify_audit", "--archive", where)
    assert code == 0 and out.endswith(f"archive {where}: intact\n"), out


def large_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """About 12 MB of CSV, and parts of 5 MiB (the least S3 takes but for the last)."""
    monkeypatch.setattr(archive_store, "PART_BYTES", 5 * 1024 * 1024)
    text = "x" * 20_000
    AuditEvent.objects.bulk_create(
        AuditEvent(
            kind="item",
            provider="recoveryconnect",
            operation="rc_transfer_photos",
            outcome="succeeded",
            timestamp=timezone.now() - timedelta(days=10),
            item=f"p{n}",
            message=text,
        )
        for n in range(600)
    )
    audit_seal()


def test_a_large_archive_goes_up_in_parts_and_verifies(
    s3_bucket: Bucket, signing: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Part by part as the CSV is made: never the whole file at once."""
    large_history(monkeypatch)
    code, out, _ = archive_to(f"s3://{s3_bucket.name}")
    assert code == 0, out
    keys = s3_bucket.keys()
    (csv_key,) = [key for key in keys if key.endswith("audit.csv")]
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=csv_key)
    assert head["ContentLength"] > 2 * archive_store.PART_BYTES
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    part = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=csv_key, PartNumber=1)
    assert archive_store.PART_BYTES <= part["ContentLength"] < archive_store.PART_BYTES + 30_000
    assert not AuditEvent.objects.exists()


def test_an_upload_that_fails_midway_leaves_no_parts_behind(
    s3_bucket: Bucket, signing: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    large_history(monkeypatch)
    real_cell, cells = archiving._cell, [0]

    def failing_cell(value: Any) -> Any:
        # A failure while the CSV is being made, after its first part went up (our code, made to fail).
        cells[0] += 1
        if cells[0] > 400 * len(column_names()):
            raise RuntimeError("the database went away")
        return real_cell(value)

    monkeypatch.setattr(archiving, "_cell", failing_cell)
    with pytest.raises(RuntimeError):
        archiving.audit_archive(before=timezone.localdate(), output=f"s3://{s3_bucket.name}")
    assert s3_bucket.keys() == []
    assert not s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads")
    assert AuditEvent.objects.count() == 600


def test_a_tampered_object_fails_its_check(
    s3_bucket: Bucket, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    old, _ = history
    assert archive_to(f"s3://{s3_bucket.name}/a")[0] == 0
    key = f"a/audit-1-{old[-1].pk}/audit.csv"
    body = s3_bucket.read(key).decode().replace("r-1", "r-2")
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=key, Body=body.encode())
    code, out, err = command("verify_audit", "--archive", f"s3://{s3_bucket.name}/a/audit-1-{old[-1].pk}")
    assert code == 1 and err.endswith(": 2 problems\n")
    assert "audit.csv: its SHA-256 is not the manifest's" in out
    assert f"row {old[-1].pk}: edited since it was sealed" in out


def test_a_missing_object_fails_its_check(
    s3_bucket: Bucket, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    old, _ = history
    assert archive_to(f"s3://{s3_bucket.name}/a")[0] == 0
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=f"a/audit-1-{old[-1].pk}/audit.csv")
    code, out, _ = command("verify_audit", "--archive", f"s3://{s3_bucket.name}/a/audit-1-{old[-1].pk}/")
    assert code == 1 and "audit.csv: cannot be read" in out and "NoSuchKey" in out


def test_an_object_changed_before_the_read_back_removes_nothing(
    s3_bucket: Bucket,
    signing: Any,
    history: tuple[list[AuditEvent], list[AuditEvent]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Someone else writes to the key between the upload and the read-back: the check reads the bucket,
    not what was sent, and stops the removal. (The wrapper only times that other writer.)"""
    old, _ = history
    real_verify = archiving.archive_verify

    def after_someone_wrote(directory: Any, **options: Any) -> list[str]:
        key = f"audit-1-{old[-1].pk}/audit.csv"
        body = s3_bucket.read(key).replace(b"old1", b"old9")
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=key, Body=body)
        return real_verify(directory, **options)

    monkeypatch.setattr(archiving, "archive_verify", after_someone_wrote)
    count = AuditEvent.objects.count()
    code, out, err = archive_to(f"s3://{s3_bucket.name}")
    assert code == 1 and "its SHA-256 is not the manifest's" in out and "edited since it was sealed" in out
    assert err == "the archive did not verify: no row was removed\n"
    nothing_removed(count)


def test_a_manifest_naming_a_file_elsewhere_is_not_followed(
    s3_bucket: Bucket, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    old, _ = history
    assert archive_to(f"s3://{s3_bucket.name}/a")[0] == 0
    key = f"a/audit-1-{old[-1].pk}/manifest.json"
    manifest = json.loads(s3_bucket.read(key))
    manifest["file"] = "../../b/audit.csv"
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=key, Body=json.dumps(manifest).encode())
    problems = archiving.archive_verify(f"s3://{s3_bucket.name}/a/audit-1-{old[-1].pk}/")
    assert "manifest: names a file outside the archive ('../../b/audit.csv')" in problems
    assert any("signature does not match" in problem for problem in problems)


def test_a_missing_bucket_removes_nothing_and_says_so(
    s3_bucket: Bucket, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    count = AuditEvent.objects.count()
    code, out, err = archive_to("s3://media-sync-no-such-bucket/audit")
    assert code == 1
    assert out.startswith("s3://media-sync-no-such-bucket/audit/audit-1-") and "NoSuchBucket" in out
    assert err == "the archive could not be written: no row was removed\n"
    assert SECRET_ACCESS_KEY not in out + err
    nothing_removed(count)


@pytest.mark.parametrize(
    ("allowed", "refused"),
    [pytest.param(0, "list", id="from-the-start"), pytest.param(1, "write", id="upload")],
)
def test_credentials_s3_refuses_remove_nothing_and_show_no_secret(
    s3_bucket: Bucket,
    signing: Any,
    history: tuple[list[AuditEvent], list[AuditEvent]],
    allowed: int,
    refused: str,
) -> None:
    count = AuditEvent.objects.count()
    with s3_credentials_checked(s3_bucket.endpoint, after=allowed):
        code, out, err = archive_to(f"s3://{s3_bucket.name}/audit")
    assert code == 1 and f"S3 refused to {refused} it: InvalidAccessKeyId" in out, out
    assert err == "the archive could not be written: no row was removed\n"
    assert SECRET_ACCESS_KEY not in out + err
    nothing_removed(count)
    assert s3_bucket.keys() == []
    assert not s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads")


def test_an_endpoint_that_is_down_removes_nothing(
    s3_bucket: Bucket,
    signing: Any,
    history: tuple[list[AuditEvent], list[AuditEvent]],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as closed:  # a loopback port nothing listens on once this is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's own setting: no minute of retries here
    count = AuditEvent.objects.count()
    code, out, err = archive_to(f"s3://{s3_bucket.name}/audit")
    assert code == 1 and f"S3 could not be reached to list it (at 127.0.0.1:{port})" in out, out
    assert err == "the archive could not be written: no row was removed\n"
    nothing_removed(count)


def test_an_archive_key_that_holds_objects_already_is_refused(
    s3_bucket: Bucket, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    old, _ = history
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=f"audit-1-{old[-1].pk}/notes.txt", Body=b"x")
    count = AuditEvent.objects.count()
    with pytest.raises(Exception, match="exists already: nothing archived"):
        archive_to(f"s3://{s3_bucket.name}")
    nothing_removed(count)


def test_an_s3_archive_verifies_with_only_the_public_key(
    s3_bucket: Bucket,
    signing: Ed25519PrivateKey,
    history: tuple[list[AuditEvent], list[AuditEvent]],
    settings: Any,
    tmp_path: Path,
) -> None:
    old, _ = history
    assert archive_to(f"s3://{s3_bucket.name}")[0] == 0
    public = tmp_path / "audit-verify.pem"
    public.write_bytes(
        signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings.MEDIA_SYNC_AUDIT_SIGNING_KEY = ""  # the auditor holds no private key
    where = f"s3://{s3_bucket.name}/audit-1-{old[-1].pk}/"
    assert command("verify_audit", "--archive", where)[0] == 1  # no key at all: not checked, not passed
    code, out, _ = command("verify_audit", "--archive", where, "--public-key", str(public))
    assert code == 0, out


def test_the_schedule_archives_to_s3_when_the_archive_dir_is_a_url(
    s3_bucket: Bucket, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]], settings: Any
) -> None:
    old, recent = history
    settings.MEDIA_SYNC_AUDIT_ARCHIVE_AFTER_DAYS = 5
    settings.MEDIA_SYNC_AUDIT_ARCHIVE_DIR = f"s3://{s3_bucket.name}/scheduled"
    where = f"s3://{s3_bucket.name}/scheduled/audit-1-{old[-1].pk}/"
    assert archiving.audit_archive_due()[0] == f"archived rows 1-{old[-1].pk} ({len(old)} rows) to {where}"
    assert AuditEvent.objects.count() == len(recent) and archiving.archive_verify(where) == []
