"""Check at the provider, afterwards (CorrigoPro uploads), against the simulator over real HTTP: the work
order's attachments by the id the upload recorded; confirmed, missing, removed later; nothing sent again."""

from __future__ import annotations

import pytest
import requests
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CheckResult,
    CorrigoWorkOrder,
    JobStatus,
    Operation,
    TransferJob,
)
from media_sync.services.checks import job_check
from media_sync.services.corrigopro import cp_upload_start
from media_sync.services.run import job_run

pytestmark = pytest.mark.django_db


def uploaded(work_order: CorrigoWorkOrder, name: str, content: bytes) -> TransferJob:
    job = cp_upload_start(
        work_order=work_order,
        source=SimpleUploadedFile(name, content),
        name=name,
        performed_by="Ann Tech",
        triggered_by="olga",
        enqueue=False,
    )
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    return job


def attachment_id(job: TransferJob) -> str:
    return job.items.get().message.split()[1]  # "attachment <id> added"


def customer_removes(work_order_id: int, attachment: str) -> None:
    """The customer deletes it at CorrigoPro (the simulator's control route)."""
    answer = requests.post(
        f"{settings.CORRIGOPRO['BASE_URL']}/_sim/corrigopro/customer/remove-attachment",
        json={"work_order_id": work_order_id, "attachment_id": attachment},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def list_calls(job: TransferJob) -> int:
    return AuditEvent.objects.filter(
        job=job, kind=AuditKind.HTTP, operation=Operation.LIST_ATTACHMENTS
    ).count()


def test_confirmed_then_removed_later_and_nothing_sent_again(
    work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator
) -> None:
    job = uploaded(work_order, "after.jpg", tiny_jpeg())
    uploads = len(cp_sim.uploads)

    job_check(job=job, triggered_by="leo")
    item = job.items.get()
    assert (item.check_result, item.status) == (CheckResult.CONFIRMED, "succeeded")
    assert f"attachment {attachment_id(job)} is on work order 1001" == item.check_message

    customer_removes(1001, attachment_id(job))
    summary = job_check(job=job, triggered_by="leo")

    item.refresh_from_db()
    assert item.check_result == CheckResult.REMOVED_LATER
    assert "removed later 1" in str(summary)
    assert list_calls(job) == 2
    assert len(cp_sim.uploads) == uploads
    rows = AuditEvent.objects.filter(job=job, kind=AuditKind.CHECK, operation=Operation.CHECK)
    assert [row.provider_status for row in rows.order_by("id")] == [
        CheckResult.CONFIRMED,
        CheckResult.REMOVED_LATER,
    ]


def test_an_attachment_removed_before_any_check_is_missing(
    work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator, lead: Client
) -> None:
    job = uploaded(work_order, "before.jpg", tiny_jpeg())
    customer_removes(1001, attachment_id(job))

    answer = lead.post(reverse("admin:media_sync_transferjob_check", args=[job.pk]), follow=True)

    assert job.items.get().check_result == CheckResult.MISSING
    html = answer.content.decode()
    assert "Confirmed at the provider: <strong>0 of 1</strong>" in html
    assert "Missing at the provider" in html
    timeline = lead.get(reverse("admin:media_sync_auditevent_timeline", args=["workorder", "1001"]))
    assert "check at the provider" in timeline.content.decode().lower()
