"""Check at the provider, afterwards, for the jobs looked for in a list at the destination beside transfers
and uploads: photos uploaded to a RecoveryConnect recovery (the order's photos, by the id RecoveryConnect
answered), RecoveryConnect documents transferred (the destination's documents, by name) and CorrigoPro
attachments changed (the work order's attachments, by id and the name given). Over real HTTP to the
simulators; nothing is sent again."""

from __future__ import annotations

import pytest
import requests
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import labelled_jpeg
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CheckResult,
    CorrigoAttachment,
    CorrigoWorkOrder,
    JobStatus,
    Operation,
    RecoveryConnectOrder,
    TransferJob,
)
from media_sync.services.checks import job_can_check, job_check
from media_sync.services.corrigopro import cp_update_start, cp_upload_start
from media_sync.services.recoveryconnect import rc_refresh_start
from media_sync.services.recoveryconnect_documents import (
    rc_documents_refresh_start,
    rc_transfer_documents_start,
)
from media_sync.services.recoveryconnect_upload import UploadSource, rc_upload_start
from media_sync.services.run import job_run
from tests.media_sync.factories import order_on_both_sides

pytestmark = pytest.mark.django_db

ORDER, RECOVERY = 57076503, 10120166


def ran(job: TransferJob) -> TransferJob:
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, list(job.items.values_list("message", flat=True))
    return job


def results(job: TransferJob) -> dict[str, tuple[str, str]]:
    return {i.item: (i.check_result, i.check_message) for i in job.items.all()}


def sim_post(base: str, path: str) -> None:
    """A control route of a simulator: something done at the provider, not by this app."""
    answer = requests.post(f"{base}{path}", timeout=10)
    assert answer.status_code == 200, answer.text


def list_calls(job: TransferJob, operation: str) -> int:
    return AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation=operation).count()


# --- Photos uploaded to a RecoveryConnect recovery ---------------------------------------------------------


@pytest.fixture
def order(rc_sim: RecoveryConnectSimulator) -> RecoveryConnectOrder:
    rc_sim.add_order(ORDER, 9100001, recoveries=[{"id": RECOVERY, "created_at": "2026-01-12 09:30:00"}])
    ran(rc_refresh_start(order_ids=[ORDER], triggered_by="ann", enqueue=False))
    return RecoveryConnectOrder.objects.get(order_id=ORDER)


def uploaded(order: RecoveryConnectOrder, *names: str, personal: bool = False) -> TransferJob:
    files = [
        UploadSource(
            source=SimpleUploadedFile(name, labelled_jpeg(name, "test", size=(120, 90))),
            name=name,
            file_time=timezone.now(),
        )
        for name in names
    ]
    return ran(
        rc_upload_start(order=order, files=files, triggered_by="olga", personal=personal, enqueue=False)
    )


def test_uploaded_photos_confirmed_then_one_removed_later_and_one_missing_at_recoveryconnect(
    order: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    job = uploaded(order, "left.jpg", "right.jpg")
    ids = {i.item: i.reference for i in job.items.all()}
    base = settings.RECOVERYCONNECT["BASE_URL"]

    assert job_can_check(job)
    job_check(job=job, triggered_by="leo")
    assert results(job)["left.jpg"] == (
        CheckResult.CONFIRMED,
        f"photo {ids['left.jpg']} is on order {ORDER} (recovery {RECOVERY})",
    )
    sim_post(base, f"/_sim/recoveryconnect/orders/{ORDER}/photos/{ids['left.jpg']}/remove")
    summary = job_check(job=job, triggered_by="leo")

    assert results(job)["left.jpg"][0] == CheckResult.REMOVED_LATER
    assert results(job)["right.jpg"][0] == CheckResult.CONFIRMED
    assert "removed later 1" in str(summary)
    assert list_calls(job, Operation.LIST_PHOTOS) == 2  # one per check: both items are on one order
    assert len(rc_sim.uploads) == 2  # nothing uploaded again
    # The recovery's own list agrees with the order's: the removed photo is gone from both.
    assert [p.id for p in rc_sim.orders[ORDER].recoveries[0].photos] == [int(ids["right.jpg"])]


def test_a_personal_property_photo_removed_before_any_check_is_missing(
    order: RecoveryConnectOrder,
) -> None:
    job = uploaded(order, "tools.jpg", personal=True)
    photo_id = job.items.get().reference
    sim_post(
        settings.RECOVERYCONNECT["BASE_URL"], f"/_sim/recoveryconnect/orders/{ORDER}/photos/{photo_id}/remove"
    )

    job_check(job=job, triggered_by="leo")

    assert results(job)["tools.jpg"] == (
        CheckResult.MISSING,
        f"photo {photo_id} is not on order {ORDER} (recovery {RECOVERY})",
    )


# --- RecoveryConnect documents transferred --------------------------------------------------------------


@pytest.fixture
def documents_source(rc_sim: RecoveryConnectSimulator) -> RecoveryConnectOrder:
    source = order_on_both_sides(rc_sim, ORDER, 9100001, [])
    for document_id, name in ((7300001, "condition-report.pdf"), (7300002, "release-form.pdf")):
        rc_sim.add_document(ORDER, name, "Dana Whitfield", id=document_id)
    order_on_both_sides(rc_sim, 57076502, 9100002, [])
    ran(rc_documents_refresh_start(order_ids=[ORDER], triggered_by="ann"))
    return source


def test_transferred_documents_by_name_at_the_destination_and_a_destination_not_mirrored(
    documents_source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    job = ran(rc_transfer_documents_start(order=documents_source, destinations=[9100002], triggered_by="ann"))
    base = settings.RECOVERYCONNECT["BASE_URL"]

    job_check(job=job, triggered_by="leo")
    assert results(job) == {
        "7300001": (CheckResult.CONFIRMED, "condition-report.pdf is in order 9100002"),
        "7300002": (CheckResult.CONFIRMED, "release-form.pdf is in order 9100002"),
    }
    # Someone deletes the copy of the release form at RecoveryConnect (the copy has an id of its own).
    copy = next(d for d in rc_sim.documents[57076502] if d.name == "release-form.pdf")
    sim_post(base, f"/_sim/recoveryconnect/orders/57076502/documents/{copy.id}/remove")
    job_check(job=job, triggered_by="leo")
    assert results(job)["7300002"] == (
        CheckResult.REMOVED_LATER,
        "release-form.pdf is no longer in order 9100002",
    )
    assert results(job)["7300001"][0] == CheckResult.CONFIRMED
    assert list_calls(job, Operation.LIST_DOCUMENTS) == 2
    assert len(rc_sim.document_transfers) == 2  # nothing transferred again

    # The destination no longer mirrored here: RecoveryConnect lists by an id only the mirror knows.
    RecoveryConnectOrder.objects.filter(client_order_id=9100002).delete()
    summary = job_check(job=job, triggered_by="leo")
    assert summary.not_checked == 2
    assert all(
        message.startswith(
            "cannot be checked: order 9100002 is not mirrored here: no order here has client order id 9100002"
        )
        for _, message in results(job).values()
    )
    assert list_calls(job, Operation.LIST_DOCUMENTS) == 2


# --- CorrigoPro attachments changed ---------------------------------------------------------------------


def test_a_changed_attachment_is_confirmed_while_it_carries_the_name_given(
    work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator, lead: Client
) -> None:
    upload = ran(
        cp_upload_start(
            work_order=work_order,
            source=SimpleUploadedFile("after.jpg", tiny_jpeg()),
            name="after.jpg",
            performed_by="Ann Tech",
            triggered_by="olga",
            enqueue=False,
        )
    )
    attachment = CorrigoAttachment.objects.get(attachment_id=upload.items.get().message.split()[1])
    job = ran(
        cp_update_start(attachment=attachment, name="after-repair.jpg", triggered_by="olga", enqueue=False)
    )

    answer = lead.post(reverse("admin:media_sync_transferjob_check", args=[job.pk]), follow=True)
    assert results(job)[attachment.attachment_id] == (
        CheckResult.CONFIRMED,
        f"attachment {attachment.attachment_id} named 'after-repair.jpg' is on work order 1001",
    )
    assert "Confirmed at the provider: <strong>1 of 1</strong>" in answer.content.decode()

    # The customer renames it at CorrigoPro: our change is no longer what is there.
    cp_sim.work_orders[1001].find(attachment.attachment_id).name = "customer-name.jpg"  # type: ignore[union-attr]
    job_check(job=job, triggered_by="leo")
    assert results(job)[attachment.attachment_id] == (
        CheckResult.REMOVED_LATER,
        f"attachment {attachment.attachment_id} named 'after-repair.jpg' is no longer on work order 1001",
    )
    # Only list calls went out: the change was not made again (the simulator keeps no log of changes).
    sent = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP).values_list("operation", flat=True)
    assert sorted(sent) == [
        Operation.LIST_ATTACHMENTS,
        Operation.LIST_ATTACHMENTS,
        Operation.UPDATE_ATTACHMENT,
    ]
