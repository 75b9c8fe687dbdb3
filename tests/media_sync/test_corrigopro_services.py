"""CorrigoPro jobs from start to recorded result, against the simulator over real HTTP."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from integrations.corrigopro.client import new_message_id
from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg, tiny_pdf
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoAttachment,
    CorrigoWorkOrder,
    ItemStatus,
    JobStatus,
    MediaFile,
    TransferItem,
    TransferJob,
)
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim
from media_sync.services.corrigopro import (
    cp_client,
    cp_delete_start,
    cp_sync_start,
    cp_update_start,
    cp_upload_start,
)
from media_sync.services.corrigopro_download import DownloadFailed, cp_download
from media_sync.services.jobs import jobs_sweep_stale
from media_sync.services.refusals import InputRefused
from media_sync.services.run import job_run

pytestmark = pytest.mark.django_db
JPEG = tiny_jpeg()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG")
    return out.getvalue()


def run(job: TransferJob) -> TransferJob:
    job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def start_upload(
    work_order: CorrigoWorkOrder, content: bytes = JPEG, name: str = "after.jpg", **kw: Any
) -> TransferJob:
    return cp_upload_start(
        work_order=work_order,
        source=SimpleUploadedFile(name, content),
        name=name,
        performed_by=kw.pop("performed_by", "Ann Tech"),
        triggered_by="olga",
        enqueue=False,
        **kw,
    )


def test_upload_sends_the_file_and_records_its_message_id(
    work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator
) -> None:
    job = run(start_upload(work_order, document_type="Picture"))
    item = job.items.get()
    assert job.status == JobStatus.SUCCEEDED and item.status == ItemStatus.SUCCEEDED
    (upload,) = cp_sim.uploads
    stored = cp_sim.attachment(upload.attachment_id)
    assert stored is not None and stored.content == JPEG
    assert item.reference == upload.message_id and len(item.reference) <= 36
    mirror = CorrigoAttachment.objects.get(attachment_id=upload.attachment_id)
    assert (mirror.name, mirror.added_by, mirror.document_type) == ("after.jpg", "us", "Picture")
    row = AuditEvent.objects.get(kind=AuditKind.ITEM, job=job)
    assert row.reference == upload.message_id and row.outcome == "succeeded"
    media = MediaFile.objects.get()
    assert media.size == len(JPEG) and len(media.sha256) == 64 and media.mime_type == "image/jpeg"


@pytest.mark.parametrize(
    ("content", "name", "extra", "reason"),
    [
        (b"", "empty.jpg", {}, "the file is empty"),
        (JPEG, "noextension", {}, "needs a file extension"),
        (png_bytes(), "photo.jpg", {"mime_type": "image/jpeg"}, "the content is image/png, not image/jpeg"),
        (b"just text, no picture", "photo.jpg", {}, "not a readable image/jpeg"),
        (tiny_pdf(), "report.jpg", {}, "the extension .jpg does not match the type application/pdf"),
        (JPEG, "after.jpg", {"performed_by": "x" * 101}, "PerformedBy.Name is 101 characters"),
        (JPEG, "after.jpg", {"performed_by": "  "}, "say who performed the work"),
        (JPEG, "after.jpg", {"document_type": "Selfie"}, "document type 'Selfie' is not one of"),
    ],
)
def test_bad_uploads_are_refused_before_any_call_and_nothing_is_kept(
    work_order: CorrigoWorkOrder,
    cp_sim: CorrigoProSimulator,
    content: bytes,
    name: str,
    extra: dict[str, str],
    reason: str,
) -> None:
    with pytest.raises(InputRefused, match=reason):
        start_upload(work_order, content, name, **extra)
    assert not TransferJob.objects.exists() and not MediaFile.objects.exists()
    assert cp_sim.log == []


def test_a_file_over_20_mb_is_refused_without_being_read_whole(
    work_order: CorrigoWorkOrder, tmp_path: Path
) -> None:
    path = tmp_path / "big.jpg"
    with path.open("wb") as out:
        out.write(JPEG)
        out.truncate(20 * 1024 * 1024 + 1)
    with path.open("rb") as handle, pytest.raises(InputRefused, match="the limit is 20 MB"):
        cp_upload_start(
            work_order=work_order,
            source=File(handle, name="big.jpg"),
            name="big.jpg",
            performed_by="Ann",
            triggered_by="olga",
            enqueue=False,
        )
    assert not MediaFile.objects.exists()


@pytest.mark.parametrize("status", ["Rejected", "Recalled"])
def test_no_upload_to_a_closed_work_order(work_order: CorrigoWorkOrder, status: str) -> None:
    work_order.status = status
    with pytest.raises(InputRefused, match=f"is {status}"):
        start_upload(work_order)


@pytest.mark.parametrize(
    ("provider_status", "code", "mirror_status"),
    [("Rejected", "3001", "Rejected"), ("Recalled", "3005", "Recalled")],
)
def test_a_stale_mirror_status_is_a_recorded_failure_and_gets_corrected(
    work_order: CorrigoWorkOrder,
    cp_sim: CorrigoProSimulator,
    provider_status: str,
    code: str,
    mirror_status: str,
) -> None:
    cp_sim.work_orders[1001].status = provider_status
    job = run(start_upload(work_order))
    item = job.items.get()
    assert (item.status, item.error_code) == (ItemStatus.FAILED, code)
    assert job.status == JobStatus.FAILED
    work_order.refresh_from_db()
    assert work_order.status == mirror_status


def test_sync_mirrors_attachments_and_marks_the_gone_ones(
    work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator
) -> None:
    job = run(start_upload(work_order))
    customer = cp_sim.customer_add_attachment(1001, name="leak.jpg")  # no webhook URL set: state only
    gone = CorrigoAttachment.objects.get()
    cp_sim.work_orders[1001].attachments = [
        a for a in cp_sim.work_orders[1001].attachments if a.id != gone.attachment_id
    ]
    job = run(cp_sync_start(work_order_ids=[1001], triggered_by="olga", enqueue=False))
    assert job.items.get().message == "1 attachments listed: 1 new, 1 removed"
    assert CorrigoAttachment.objects.get(attachment_id=customer.id).removed_at is None
    gone.refresh_from_db()
    assert gone.removed_at is not None


def test_update_changes_the_metadata_at_the_provider_and_in_the_mirror(
    work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator
) -> None:
    run(start_upload(work_order))
    attachment = CorrigoAttachment.objects.get()
    job = run(
        cp_update_start(
            attachment=attachment,
            name="fixed.jpg",
            document_type="Misc",
            visibility="CruOnly",
            triggered_by="olga",
            enqueue=False,
        )
    )
    assert job.status == JobStatus.SUCCEEDED
    stored = cp_sim.attachment(attachment.attachment_id)
    assert stored is not None and (stored.name, stored.document_type, stored.visibility) == (
        "fixed.jpg",
        "Misc",
        "CruOnly",
    )
    attachment.refresh_from_db()
    assert (attachment.name, attachment.document_type, attachment.visibility) == (
        "fixed.jpg",
        "Misc",
        "CruOnly",
    )


def test_update_refuses_a_name_without_extension(work_order: CorrigoWorkOrder) -> None:
    attachment = CorrigoAttachment.objects.create(attachment_id="a" * 36, work_order=work_order, name="x.jpg")
    with pytest.raises(InputRefused, match="needs a file extension"):
        cp_update_start(attachment=attachment, name="fixed", triggered_by="olga", enqueue=False)


def test_delete_removes_it_and_a_second_delete_is_refused(
    work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator
) -> None:
    run(start_upload(work_order))
    attachment = CorrigoAttachment.objects.get()
    assert (
        run(cp_delete_start(attachment=attachment, triggered_by="olga", enqueue=False)).status == "succeeded"
    )
    attachment.refresh_from_db()
    assert attachment.removed_at is not None
    with pytest.raises(InputRefused, match="already removed"):
        cp_delete_start(attachment=attachment, triggered_by="olga", enqueue=False)


def test_deleting_what_the_customer_already_removed_fails_with_3003_and_marks_it(
    work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator
) -> None:
    run(start_upload(work_order))
    attachment = CorrigoAttachment.objects.get()
    cp_sim.customer_remove_attachment(1001, attachment.attachment_id)
    job = run(cp_delete_start(attachment=attachment, triggered_by="olga", enqueue=False))
    assert job.items.get().error_code == "3003"
    attachment.refresh_from_db()
    assert attachment.removed_at is not None


def test_download_streams_the_file_and_records_the_bytes(work_order: CorrigoWorkOrder) -> None:
    run(start_upload(work_order))
    download = cp_download(attachment=CorrigoAttachment.objects.get(), triggered_by="leo")
    assert b"".join(download.chunks) == JPEG
    download.job.refresh_from_db()
    assert download.job.status == JobStatus.SUCCEEDED
    assert download.job.items.get().message == f"{len(JPEG)} bytes downloaded"
    assert download.mime_type == "image/jpeg" and download.size == len(JPEG)


def test_a_download_cut_off_by_the_reader_is_a_recorded_failure(work_order: CorrigoWorkOrder) -> None:
    run(start_upload(work_order))
    download = cp_download(attachment=CorrigoAttachment.objects.get(), triggered_by="leo")
    next(download.chunks)
    download.chunks.close()
    item = download.job.items.get()
    assert item.status == ItemStatus.FAILED and "download stopped after" in item.message


def test_download_of_an_attachment_gone_at_the_provider_fails_with_the_reason(
    work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator
) -> None:
    run(start_upload(work_order))
    attachment = CorrigoAttachment.objects.get()
    cp_sim.customer_remove_attachment(1001, attachment.attachment_id)
    with pytest.raises(DownloadFailed) as failed:
        cp_download(attachment=attachment, triggered_by="leo")
    assert failed.value.job.items.get().error_code == "3003"
    assert failed.value.job.status == JobStatus.FAILED


def test_sync_of_a_recalled_work_order_fails_and_leaves_the_status_alone(cp_sim: CorrigoProSimulator) -> None:
    cp_sim.add_work_order(1005, status="Recalled")
    CorrigoWorkOrder.objects.create(work_order_id=1005, status="Accepted")
    job = run(cp_sync_start(work_order_ids=[1005], triggered_by="olga", enqueue=False))
    assert job.items.get().error_code == "3005"
    # 3005 means "unknown or recalled": only an upload's refusal is taken as news about the status.
    assert CorrigoWorkOrder.objects.get(work_order_id=1005).status == "Accepted"


def test_an_upload_whose_worker_died_after_corrigopro_stored_it_stays_one_attachment(
    work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator
) -> None:
    job = start_upload(work_order)
    # The worker claimed the item, wrote down its MessageId, sent the upload and died before the answer.
    (item,) = job_claim(items=job.items.all())
    message_id = new_message_id()
    TransferItem.objects.filter(pk=item.pk).update(reference=message_id)
    dead_worker = cp_client(recorder=ExchangeRecorder(job=job))
    media = MediaFile.objects.get()
    first = dead_worker.upload_attachment(
        work_order_id=1001,
        open_file=lambda: media.file.open("rb"),
        size=media.size,
        name=item.item,
        mime_type=media.mime_type,
        performed_by="Ann Tech",
        message_id=message_id,
    )
    TransferItem.objects.filter(pk=item.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    TransferJob.objects.filter(pk=job.pk).update(enqueued_at=timezone.now() - timedelta(hours=1))

    jobs_sweep_stale()  # hands the item back; tasks run in-process here, so the job runs again now

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    # Sent again after the hand-back, with the same MessageId: CorrigoPro kept one attachment.
    assert [upload.message_id for upload in cp_sim.uploads] == [message_id]
    assert len(cp_sim.work_orders[1001].attachments) == 1
    assert job.items.get().reference == message_id
    assert CorrigoAttachment.objects.get().attachment_id == first.attachment_id
