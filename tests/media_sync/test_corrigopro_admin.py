"""The CorrigoPro pages of the admin, per role, through the test client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoAttachment,
    CorrigoWorkOrder,
    JobStatus,
    TransferJob,
)
from media_sync.services.corrigopro import cp_upload_start
from media_sync.services.run import job_run
from tests.media_sync.factories import login

pytestmark = pytest.mark.django_db
JPEG = tiny_jpeg()
WORK_ORDERS = reverse("admin:media_sync_corrigoworkorder_changelist")
ATTACHMENTS = reverse("admin:media_sync_corrigoattachment_changelist")
DELIVERIES = reverse("admin:media_sync_webhookdelivery_changelist")


@pytest.fixture
def attachment(work_order: CorrigoWorkOrder) -> CorrigoAttachment:
    job = cp_upload_start(
        work_order=work_order,
        source=SimpleUploadedFile("after.jpg", JPEG),
        name="after.jpg",
        performed_by="Ann",
        triggered_by="olga",
        enqueue=False,
    )
    job_run(job_id=job.pk)
    return CorrigoAttachment.objects.get()


def url(name: str, obj: Any) -> str:
    return reverse(f"admin:media_sync_{name}", args=[obj.pk])


def test_operator_uploads_from_the_work_order_page(
    client: Client,
    work_order: CorrigoWorkOrder,
    cp_sim: CorrigoProSimulator,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    login(client, "olga", "Operators")
    own_page = client.get(url("corrigoworkorder_change", work_order)).text
    assert f'<a href="{url("corrigoworkorder_upload", work_order)}">Upload an attachment</a>' in own_page
    page = client.get(url("corrigoworkorder_upload", work_order))
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("corrigoworkorder_upload", work_order),
            {
                "file": SimpleUploadedFile("after.jpg", JPEG, content_type="image/jpeg"),
                "name": "",
                "document_type": "Picture",
                "visibility": "All",
                "performed_by": "Ann Tech",
            },
        )
    job = TransferJob.objects.get()
    assert response.status_code == 302 and response["Location"] == url("transferjob_change", job)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert [upload.name for upload in cp_sim.uploads] == ["after.jpg"]


def test_a_refused_upload_shows_the_reason_and_starts_nothing(
    client: Client, work_order: CorrigoWorkOrder
) -> None:
    login(client, "olga", "Operators")
    response = client.post(
        url("corrigoworkorder_upload", work_order),
        {
            "file": SimpleUploadedFile("after.jpg", b"no picture here", content_type="image/jpeg"),
            "performed_by": "Ann",
        },
    )
    assert response.status_code == 200 and "not a readable image/jpeg" in response.text
    assert not TransferJob.objects.exists()
    refusal = AuditEvent.objects.get(kind=AuditKind.REFUSAL)
    assert refusal.operation == "cp_upload" and "not a readable image/jpeg" in refusal.message


def test_operator_edits_and_deletes_with_a_confirmation(
    client: Client,
    attachment: CorrigoAttachment,
    cp_sim: CorrigoProSimulator,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    login(client, "olga", "Operators")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("corrigoattachment_edit", attachment), {"name": "fixed.jpg", "document_type": "Misc"})
    stored = cp_sim.attachment(attachment.attachment_id)
    assert stored is not None and stored.name == "fixed.jpg"
    confirm = client.get(url("corrigoattachment_delete_at_provider", attachment))
    assert "It cannot be undone" in confirm.text and stored.removed is False
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("corrigoattachment_delete_at_provider", attachment), {})
    attachment.refresh_from_db()
    assert attachment.removed_at is not None and stored.removed is True


@pytest.mark.parametrize("role", ["Operators", "Team leads"])
def test_download_streams_the_file_from_a_fresh_link(
    client: Client, attachment: CorrigoAttachment, role: str
) -> None:
    login(client, "someone", role)
    response = client.get(url("corrigoattachment_download", attachment))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == JPEG  # type: ignore[attr-defined]
    assert 'filename="after.jpg"' in response["Content-Disposition"]


def test_a_refused_download_says_why_and_is_in_the_audit(
    client: Client, attachment: CorrigoAttachment
) -> None:
    CorrigoAttachment.objects.filter(pk=attachment.pk).update(removed_at="2026-11-23T10:00:00Z")
    login(client, "tina", "Team leads")
    response = client.get(url("corrigoattachment_download", attachment), follow=True)
    reason = f"attachment {attachment.attachment_id} was already removed"
    assert response.redirect_chain == [(ATTACHMENTS, 302)]
    assert [str(m) for m in response.context["messages"]] == [f"Download failed: {reason}"]
    refusal = AuditEvent.objects.get(kind=AuditKind.REFUSAL)
    assert (refusal.provider, refusal.operation, refusal.triggered_by, refusal.message) == (
        "corrigopro",
        "cp_download",
        "tina",
        reason,
    )
    assert (refusal.subject, refusal.item) == ("work order 1001", "after.jpg")


def test_refresh_attachments_action(
    client: Client,
    attachment: CorrigoAttachment,
    cp_sim: CorrigoProSimulator,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    login(client, "olga", "Operators")
    cp_sim.customer_add_attachment(1001, name="leak.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            WORK_ORDERS, {"action": "refresh_attachments", "_selected_action": [attachment.work_order.pk]}
        )
    assert CorrigoAttachment.objects.filter(name="leak.jpg").exists()


def test_team_lead_reads_but_cannot_change_anything(
    client: Client, attachment: CorrigoAttachment, cp_sim: CorrigoProSimulator
) -> None:
    login(client, "leo", "Team leads")
    for page in (WORK_ORDERS, ATTACHMENTS, DELIVERIES, url("corrigoworkorder_change", attachment.work_order)):
        assert client.get(page).status_code == 200
    for page in (WORK_ORDERS, url("corrigoworkorder_change", attachment.work_order)):
        assert ">Upload an attachment</a>" not in client.get(page).text
    # No Edit or Delete links to a 403; our copy (the file we uploaded) is the download, not CorrigoPro's.
    edit, delete = (
        url("corrigoattachment_edit", attachment),
        url("corrigoattachment_delete_at_provider", attachment),
    )
    for page in (ATTACHMENTS, url("corrigoworkorder_change", attachment.work_order)):
        text = client.get(page).text
        assert edit not in text and delete not in text
        assert url("corrigoattachment_our_copy", attachment) in text
        assert url("corrigoattachment_download", attachment) not in text
    CorrigoAttachment.objects.update(kept_file=None)
    assert url("corrigoattachment_download", attachment) in client.get(ATTACHMENTS).text
    operator = Client()
    login(operator, "olga", "Operators")
    assert edit in operator.get(ATTACHMENTS).text and delete in operator.get(ATTACHMENTS).text
    for view in ("corrigoattachment_edit", "corrigoattachment_delete_at_provider"):
        assert client.post(url(view, attachment), {"name": "x.jpg"}).status_code == 403
    upload = client.post(
        url("corrigoworkorder_upload", attachment.work_order),
        {"file": SimpleUploadedFile("a.jpg", JPEG), "performed_by": "Leo"},
    )
    assert upload.status_code == 403
    client.post(
        WORK_ORDERS, {"action": "refresh_attachments", "_selected_action": [attachment.work_order.pk]}
    )
    assert TransferJob.objects.count() == 1  # only the fixture's upload


@pytest.mark.parametrize("page", ["upload", "edit", "delete", "download", "list"])
def test_staff_without_a_role_and_anonymous_visitors_get_nothing(
    client: Client, attachment: CorrigoAttachment, page: str
) -> None:
    target = {
        "upload": url("corrigoworkorder_upload", attachment.work_order),
        "edit": url("corrigoattachment_edit", attachment),
        "delete": url("corrigoattachment_delete_at_provider", attachment),
        "download": url("corrigoattachment_download", attachment),
        "list": ATTACHMENTS,
    }[page]
    anonymous = client.get(target)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    login(client, "sam")
    assert client.get(target).status_code == 403


def test_upload_form_needs_a_csrf_token(work_order: CorrigoWorkOrder) -> None:
    client = Client(enforce_csrf_checks=True)
    login(client, "olga", "Operators")
    response = client.post(
        url("corrigoworkorder_upload", work_order),
        {"file": SimpleUploadedFile("a.jpg", JPEG), "performed_by": "Ann"},
    )
    assert response.status_code == 403 and not TransferJob.objects.exists()
