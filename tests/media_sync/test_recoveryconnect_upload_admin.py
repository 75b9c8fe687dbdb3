"""The order page's recoveries and its "Upload photos…" form, over real HTTP to the simulator."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from integrations.corrigopro.simulator import tiny_jpeg
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import (
    AuditEvent,
    AuditKind,
    JobStatus,
    MediaFile,
    Operation,
    RecoveryConnectOrder,
    TransferJob,
)
from media_sync.services.recoveryconnect import rc_refresh_start
from media_sync.services.run import job_run

pytestmark = pytest.mark.django_db
ORDER, RECOVERY = 57076503, 10120166


@pytest.fixture
def order(rc_sim: RecoveryConnectSimulator) -> RecoveryConnectOrder:
    rc_sim.add_order(
        ORDER,
        9100001,
        photos=[{"id": 180461378, "name": "front.jpg", "type_id": 27, "type_name": "Key"}],
        recoveries=[{"id": RECOVERY, "created_at": "2026-01-12 09:30:00"}],
    )
    rc_sim.orders[ORDER].recoveries[0].photos.append(rc_sim.orders[ORDER].photos[0])
    job = rc_refresh_start(order_ids=[ORDER], triggered_by="ann", enqueue=False)
    job_run(job_id=job.pk)
    return RecoveryConnectOrder.objects.get(order_id=ORDER)


def upload_url(order: RecoveryConnectOrder) -> str:
    return reverse("admin:media_sync_recoveryconnectorder_upload", args=[order.pk])


def test_the_order_page_shows_recoveries_and_the_upload_tool_to_operators_only(
    order: RecoveryConnectOrder, operator: Client
) -> None:
    page = operator.get(reverse("admin:media_sync_recoveryconnectorder_change", args=[order.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert upload_url(order) in text and "Upload photos…" in text
    assert "2026-01-12 09:30:00" in text and str(RECOVERY) in text  # the recoveries inline
    assert "Recovery 10120166 of 2026-01-12 09:30:00" in text  # the photo's recovery


def test_a_team_lead_sees_no_upload_tool_and_may_not_upload(
    order: RecoveryConnectOrder, lead: Client
) -> None:
    page = lead.get(reverse("admin:media_sync_recoveryconnectorder_change", args=[order.pk]))
    assert page.status_code == 200 and upload_url(order) not in page.content.decode()
    assert lead.get(upload_url(order)).status_code == 403
    files = [SimpleUploadedFile("a.jpg", tiny_jpeg(), "image/jpeg")]
    assert lead.post(upload_url(order), {"photos": files}).status_code == 403
    assert not MediaFile.objects.exists()


def test_the_form_names_the_known_types_and_takes_several_files(
    order: RecoveryConnectOrder,
    operator: Client,
    rc_sim: RecoveryConnectSimulator,
    django_capture_on_commit_callbacks: Any,
) -> None:
    form = operator.get(upload_url(order)).content.decode()
    assert 'type="file" name="photos" multiple' in form
    assert "Key (27)" in form and 'name="recovery"' not in form  # one recovery: nothing to choose
    files = [SimpleUploadedFile(n, tiny_jpeg(), "image/jpeg") for n in ("a.jpg", "b.jpg")]
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(upload_url(order), {"photos": files, "photo_type": "27", "caption": "Keys"})
    job = TransferJob.objects.get(operation=Operation.RC_UPLOAD_PHOTOS)
    assert response.status_code == 302 and response["Location"].endswith(f"/{job.pk}/change/")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, list(job.items.values_list("message", flat=True))
    assert sorted((u["file_name"], u["type"], u["image_name"]) for u in rc_sim.uploads) == [
        ("a.jpg", 27, "Keys"),
        ("b.jpg", 27, "Keys"),
    ]
    assert job.triggered_by == "olga"


def test_several_recoveries_are_a_choice_and_a_bad_file_refuses_all(
    order: RecoveryConnectOrder, operator: Client, rc_sim: RecoveryConnectSimulator
) -> None:
    rc_sim.add_recovery(ORDER, id=10120170, created_at="2026-02-03 14:05:00")
    job = rc_refresh_start(order_ids=[ORDER], triggered_by="ann", enqueue=False)
    job_run(job_id=job.pk)
    form = operator.get(upload_url(order)).content.decode()
    assert 'name="recovery"' in form and "10120170 — created 2026-02-03 14:05:00" in form
    # Nothing chosen for the operator; the newest active recovery heads the list.
    assert form.index("— choose a recovery —") < form.index("10120170 — created") < form.index("10120166 —")
    files = [
        SimpleUploadedFile("a.jpg", tiny_jpeg(), "image/jpeg"),
        SimpleUploadedFile("notes.jpg", b"not a picture at all", "image/jpeg"),
    ]
    response = operator.post(upload_url(order), {"photos": files, "recovery": "10120170"})
    assert response.status_code == 200
    assert "notes.jpg: the content is not a readable image/jpeg file" in response.content.decode()
    assert not MediaFile.objects.exists() and rc_sim.uploads == []
    refusal = AuditEvent.objects.get(kind=AuditKind.REFUSAL, operation=Operation.RC_UPLOAD_PHOTOS)
    assert refusal.item == "a.jpg, notes.jpg" and refusal.triggered_by == "olga"
    # A recovery left unchosen is a form error: nothing stored, nothing sent.
    refused = operator.post(upload_url(order), {"photos": [SimpleUploadedFile("a.jpg", tiny_jpeg())]})
    assert "This field is required" in refused.content.decode()
    assert not MediaFile.objects.exists() and rc_sim.uploads == []


def test_a_bad_picture_time_is_a_form_error(order: RecoveryConnectOrder, operator: Client) -> None:
    files = [SimpleUploadedFile("a.jpg", tiny_jpeg(), "image/jpeg")]
    response = operator.post(upload_url(order), {"photos": files, "picture_time": "31/01/2026"})
    assert (
        response.status_code == 200 and "is not of the form YYYY-MM-DD HH:MM:SS" in response.content.decode()
    )
    assert not TransferJob.objects.filter(operation=Operation.RC_UPLOAD_PHOTOS).exists()
