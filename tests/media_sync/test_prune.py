"""prune: old sessions, webhook deliveries and task rows go, and the files of long-finished work; never the
audit, never a file an open job or the Booking.com gallery needs. --dry-run only counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django_q.models import Schedule, Task

from media_sync.models import (
    AuditEvent,
    AuditKind,
    JobStatus,
    MediaFile,
    SuPhoto,
    SuProperty,
    TransferJob,
    WebhookDelivery,
    WebhookStatus,
)
from tests.media_sync.factories import run_command

pytestmark = pytest.mark.django_db
LONG_AGO = timezone.now() - timedelta(days=400)


def stored(name: str, *, created_at: Any = LONG_AGO) -> MediaFile:
    media = MediaFile(
        original_name=name, size=5, sha256="0" * 64, mime_type="application/pdf", created_at=created_at
    )
    media.file.save(name, ContentFile(b"%PDF-"), save=True)
    return media


def upload_job(media: MediaFile, *, status: str, finished_at: Any) -> TransferJob:
    return TransferJob.objects.create(
        provider="corrigopro",
        operation="cp_upload",
        subject="work order 1",
        status=status,
        finished_at=finished_at,
        params={"media_file_id": media.pk},
    )


@pytest.fixture
def world() -> dict[str, Any]:
    expired, live = SessionStore(), SessionStore()
    expired.set_expiry(-10)
    expired.create()
    live.create()
    deliveries = {
        status: WebhookDelivery.objects.create(
            provider="corrigopro",
            message_id=f"m-{status}-{age}",
            event_type="x",
            body={},
            status=status,
            received_at=timezone.now() - timedelta(days=age),
        )
        for status, age in ((WebhookStatus.PROCESSED, 400), (WebhookStatus.RECEIVED, 401))
    }
    recent_delivery = WebhookDelivery.objects.create(
        provider="corrigopro", message_id="m-new", event_type="x", body={}, status=WebhookStatus.PROCESSED
    )
    for name, stopped in (("old", LONG_AGO), ("new", timezone.now())):
        Task.objects.create(id=name, name=name, func="f", started=stopped, stopped=stopped, success=True)
    done, still_open, fresh = (
        stored("done.pdf"),
        stored("open.pdf"),
        stored("fresh.pdf", created_at=timezone.now()),
    )
    upload_job(done, status=JobStatus.SUCCEEDED, finished_at=LONG_AGO)
    upload_job(still_open, status=JobStatus.RUNNING, finished_at=None)
    upload_job(fresh, status=JobStatus.SUCCEEDED, finished_at=timezone.now())
    gallery = stored("lobby.jpg")
    SuPhoto.objects.create(
        property=SuProperty.objects.create(hotel_id="H1", channel_hotel_id="C1"),
        media=gallery,
        image_format="JPEG",
        width=1,
        height=1,
        phash="0" * 16,
    )
    audit = AuditEvent.objects.create(
        kind=AuditKind.ITEM,
        provider="corrigopro",
        operation="cp_upload",
        outcome="succeeded",
        timestamp=LONG_AGO,
    )
    return {
        "expired": expired.session_key,
        "live": live.session_key,
        "deliveries": deliveries,
        "recent_delivery": recent_delivery,
        "done": done,
        "kept": [still_open, fresh, gallery],
        "audit": audit,
    }


def test_dry_run_counts_what_would_go_and_removes_nothing(world: dict[str, Any]) -> None:
    code, out = run_command("prune", "--dry-run")
    assert code == 0
    assert out.splitlines() == [
        "would remove expired sessions: 1",
        "would remove webhook deliveries older than 90 days: 1",
        "would remove background task rows older than 90 days: 1",
        "would remove files of work finished over 30 days ago: 1 (5 bytes)",
    ]
    assert Session.objects.count() == 2 and WebhookDelivery.objects.count() == 3 and Task.objects.count() == 2
    assert default_storage.exists(world["done"].file.name)


def test_prune_removes_only_what_is_past_its_time_and_never_the_audit(world: dict[str, Any]) -> None:
    done_name = world["done"].file.name
    code, out = run_command("prune")
    assert code == 0 and out.splitlines()[0] == "removed expired sessions: 1"
    assert list(Session.objects.values_list("session_key", flat=True)) == [world["live"]]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"received", "processed"}
    assert WebhookDelivery.objects.filter(pk=world["recent_delivery"].pk).exists()
    assert WebhookDelivery.objects.filter(
        pk=world["deliveries"][WebhookStatus.RECEIVED].pk
    ).exists()  # unprocessed
    assert list(Task.objects.values_list("id", flat=True)) == ["new"]
    assert not default_storage.exists(done_name)
    done = MediaFile.objects.get(pk=world["done"].pk)  # the row stays: its SHA-256 still answers pre-flight
    assert (done.file.name, done.sha256) == ("", "0" * 64)
    for media in world["kept"]:
        assert default_storage.exists(media.file.name), media.original_name
    assert AuditEvent.objects.filter(pk=world["audit"].pk).exists()
    assert (
        run_command("prune")[1].splitlines()[-1]
        == "removed files of work finished over 30 days ago: 0 (0 bytes)"
    )


def test_a_file_whose_old_job_was_retried_is_kept_while_the_retry_is_open(world: dict[str, Any]) -> None:
    upload_job(world["done"], status=JobStatus.PENDING, finished_at=None)
    run_command("prune")
    assert default_storage.exists(world["done"].file.name)


def test_prune_runs_every_day() -> None:
    schedule = Schedule.objects.get(func="media_sync.tasks.prune_old_rows")
    assert schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1
