"""CorrigoPro evidence kept: a worker copies each added attachment into media storage (SHA-256, thumbnail
from our copy), and the copy stays, downloadable by team leads, when the customer deletes it at CorrigoPro.

Over real HTTP: the simulator's customer calls the app's webhook endpoint (live_app), and the keep jobs call
the simulator for fresh links and the files behind them."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg, tiny_pdf
from integrations.simkit import Faults
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoAttachment,
    CorrigoWorkOrder,
    ItemStatus,
    MediaFile,
    Operation,
    ThumbnailStatus,
    TransferJob,
)
from media_sync.services.corrigopro import cp_sync_start, cp_upload_start
from media_sync.services.corrigopro_keep import cp_keep_start
from media_sync.services.demo import demo_work_orders_load
from media_sync.services.jobs import job_retry_failed
from media_sync.services.retention import prune
from media_sync.services.run import job_run
from tests.media_sync.factories import login

pytestmark = pytest.mark.django_db
Capture = Callable[..., Any]
WEBHOOK = "/webhooks/corrigopro/"
WORK_ORDER = 1001
LIMIT = 20 * 1024 * 1024  # CorrigoPro's documented limit


def jpeg(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 60, 30)).save(out, "JPEG")
    return out.getvalue()


def keep_jobs() -> list[TransferJob]:
    return list(TransferJob.objects.filter(operation=Operation.CP_KEEP).order_by("pk"))


def kept_bytes(attachment: CorrigoAttachment) -> bytes:
    assert attachment.kept_file is not None
    with attachment.kept_file.file.open("rb") as fileobj:
        return bytes(fileobj.read())


def refresh(capture: Capture, work_order_id: int = WORK_ORDER) -> None:
    # The keep job is queued on commit; tests run django-q2 tasks in-process.
    with capture(execute=True):
        job_run(job_id=cp_sync_start(work_order_ids=[work_order_id], triggered_by="olga", enqueue=False).pk)


def run_again(capture: Capture, job: TransferJob) -> None:
    """The job page's retry, and the worker it queues."""
    with capture(execute=True):
        assert job_retry_failed(job=job) == 1
    job.refresh_from_db()


def stored_files(settings: Any) -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


@pytest.fixture
def customer(live_app: Any, cp_sim: CorrigoProSimulator) -> CorrigoProSimulator:
    """The simulator, its customer's webhooks sent to the app served on loopback."""
    cp_sim.add_work_order(WORK_ORDER, status="Accepted")
    cp_sim.webhook_url = live_app.url + WEBHOOK
    return cp_sim


# --- Kept when added -------------------------------------------------------------------------------------


def test_an_added_attachment_is_kept_with_its_sha256_and_a_thumbnail_from_our_copy(
    customer: CorrigoProSimulator,
) -> None:
    content = jpeg()
    sent = customer.customer_add_attachment(WORK_ORDER, name="water-damage.jpg", content=content)
    assert customer.deliveries[-1].status == 200
    attachment = CorrigoAttachment.objects.select_related("kept_file").get(attachment_id=sent.id)
    assert attachment.kept_file is not None and attachment.kept_at is not None
    assert attachment.kept_file.sha256 == hashlib.sha256(content).hexdigest()
    assert (attachment.kept_file.size, attachment.kept_file.mime_type) == (len(content), "image/jpeg")
    assert kept_bytes(attachment) == content
    assert attachment.thumbnail_status == ThumbnailStatus.READY and attachment.thumbnail
    (job,) = keep_jobs()
    assert (job.status, job.subject, job.triggered_by) == (
        "succeeded",
        "work order 1001",
        "corrigopro webhook",
    )
    item = job.items.get()
    assert (item.item, item.destination, item.reference) == (sent.id, "1001", attachment.kept_file.sha256)
    # A fresh link and the file, each an audit row of the job: the thumbnail fetched nothing more.
    calls = AuditEvent.objects.filter(kind=AuditKind.HTTP, operation__in=["download_url", "download_file"])
    assert sorted(calls.values_list("operation", "job", "item")) == [
        ("download_file", job.pk, sent.id),
        ("download_url", job.pk, sent.id),
    ]


def test_a_new_work_order_keeps_all_its_attachments_in_one_job(customer: CorrigoProSimulator) -> None:
    pictures = {"front.jpg": jpeg(300, 200), "back.jpg": jpeg(200, 300)}
    attachments = [{"name": name, "content": content} for name, content in pictures.items()]
    attachments.append({"name": "quote.pdf", "mime_type": "application/pdf", "content": tiny_pdf()})
    customer.customer_new_work_order(2002, attachments=attachments)
    assert customer.deliveries[-1].status == 200
    (job,) = keep_jobs()
    assert job.items.filter(status=ItemStatus.SUCCEEDED).count() == 3
    by_name = {a.name: a for a in CorrigoAttachment.objects.select_related("kept_file")}
    for name, content in pictures.items():
        assert by_name[name].kept_file.sha256 == hashlib.sha256(content).hexdigest()  # type: ignore[union-attr]
        assert by_name[name].thumbnail_status == ThumbnailStatus.READY
    assert kept_bytes(by_name["quote.pdf"]) == tiny_pdf()
    assert by_name["quote.pdf"].thumbnail_status == ThumbnailStatus.NOT_A_PICTURE


def test_a_refresh_keeps_the_attachments_it_finds_and_never_one_twice(
    cp_sim: CorrigoProSimulator, django_capture_on_commit_callbacks: Capture
) -> None:
    capture = django_capture_on_commit_callbacks
    cp_sim.add_work_order(WORK_ORDER, attachments=[{"name": "a.jpg", "content": jpeg()}])
    refresh(capture)
    (first,) = keep_jobs()
    assert first.status == "succeeded" and first.triggered_by == "olga"
    refresh(capture)
    assert len(keep_jobs()) == 1  # every attachment already kept: nothing started
    # Added with no webhook reaching us: the next refresh finds it and keeps it alone.
    later = cp_sim.customer_add_attachment(WORK_ORDER, name="b.jpg", content=jpeg(100, 100))
    refresh(capture)
    assert len(keep_jobs()) == 2
    assert list(keep_jobs()[1].items.values_list("item", flat=True)) == [later.id]
    assert CorrigoAttachment.objects.filter(kept_file__isnull=True).count() == 0


# --- The customer deletes it after our copy was made ---------------------------------------------------


def test_a_customer_delete_after_our_copy_leaves_it_downloadable_by_a_team_lead(
    customer: CorrigoProSimulator,
) -> None:
    content = jpeg()
    sent = customer.customer_add_attachment(WORK_ORDER, name="../evidence\r\n.jpg", content=content)
    customer.customer_remove_attachment(WORK_ORDER, sent.id)
    assert customer.deliveries[-1].status == 200
    attachment = CorrigoAttachment.objects.get(attachment_id=sent.id)
    assert attachment.removed_at is not None and attachment.kept_file is not None
    assert customer.attachment(sent.id).removed  # type: ignore[union-attr]

    lead = Client()
    login(lead, "leo", "Team leads")
    url = f"/admin/media_sync/corrigoattachment/{attachment.pk}/our-copy/"
    response = lead.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content  # type: ignore[attr-defined]
    assert response["Content-Disposition"].startswith("attachment;")
    assert "evidence__.jpg" in response["Content-Disposition"] and "\r" not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/jpeg"
    read = AuditEvent.objects.get(kind=AuditKind.ACCESS)
    assert (read.operation, read.triggered_by, read.item, read.reference) == (
        Operation.CP_KEPT_DOWNLOAD,
        "leo",
        sent.id,
        attachment.kept_file.sha256,
    )
    assert "removed at CorrigoPro" in read.message

    # The attachment's timeline: its keep job's rows, the removal, and the download.
    page = lead.get(f"/admin/media_sync/auditevent/timeline/attachment/{sent.id}/").content.decode()
    assert "removed by the customer; our copy stays" in page
    assert "our copy kept:" in page and "downloaded" in page
    listing = lead.get("/admin/media_sync/corrigoattachment/").content.decode()
    assert f'<a href="{url}">download</a>' in listing


def test_a_refresh_that_no_longer_lists_it_marks_it_removed_keeps_the_copy_and_says_so(
    cp_sim: CorrigoProSimulator, client: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    capture = django_capture_on_commit_callbacks
    cp_sim.add_work_order(WORK_ORDER, attachments=[{"name": "a.jpg", "content": jpeg()}])
    refresh(capture)
    attachment = CorrigoAttachment.objects.get()
    cp_sim.customer_remove_attachment(WORK_ORDER, attachment.attachment_id)  # no webhook reaches us
    refresh(capture)
    attachment.refresh_from_db()
    assert (
        attachment.removed_at is not None and attachment.kept_file is not None and attachment.kept_file.file
    )
    row = AuditEvent.objects.get(kind=AuditKind.MIRROR)
    assert (row.item, row.operation, row.subject) == (
        attachment.attachment_id,
        Operation.CP_SYNC,
        "work order 1001",
    )
    assert row.message == "no longer listed by CorrigoPro: marked removed; our copy stays"
    login(client, "leo", "Team leads")
    page = client.get(f"/admin/media_sync/auditevent/timeline/attachment/{attachment.attachment_id}/")
    assert "no longer listed by CorrigoPro" in page.content.decode()
    assert client.get(f"/admin/media_sync/corrigoattachment/{attachment.pk}/our-copy/").status_code == 200


# --- Refused, failed, retried ------------------------------------------------------------------------


def test_a_file_over_20_mb_is_refused_with_the_reason_and_nothing_is_stored(
    cp_sim: CorrigoProSimulator, settings: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    capture = django_capture_on_commit_callbacks
    cp_sim.add_work_order(WORK_ORDER, attachments=[{"name": "huge.pdf", "mime_type": "application/pdf"}])
    cp_sim.work_orders[WORK_ORDER].attachments[0].content = b"\0" * (LIMIT + 1)
    refresh(capture)
    (job,) = keep_jobs()
    item = job.items.get()
    assert (item.status, item.failure_class) == (ItemStatus.FAILED, "too_large")
    assert "over CorrigoPro's documented limit of 20 MB" in item.message
    # Refused by the size CorrigoPro lists: no link asked for, no byte read, nothing stored.
    assert not AuditEvent.objects.filter(operation__in=["download_url", "download_file"]).exists()
    assert not MediaFile.objects.exists() and stored_files(settings) == []
    attachment = CorrigoAttachment.objects.get()
    assert attachment.kept_file is None and "20 MB" in attachment.keep_error
    refresh(capture)
    assert len(keep_jobs()) == 1  # its file cannot change: not asked again

    # A size the mirror does not know: the file's own Content-Length refuses it before a byte is kept.
    CorrigoAttachment.objects.update(size=None)
    run_again(capture, job)
    item.refresh_from_db()
    assert (item.status, item.failure_class) == (ItemStatus.FAILED, "too_large")
    assert "larger than 20971520 bytes" in item.message
    fetched = AuditEvent.objects.get(kind=AuditKind.HTTP, operation="download_file")
    assert (fetched.failure_class, fetched.job_id) == ("too_large", job.pk)
    assert not MediaFile.objects.exists() and stored_files(settings) == []


@pytest.fixture
def mirrored(
    cp_sim: CorrigoProSimulator, settings: Any, django_capture_on_commit_callbacks: Capture
) -> bytes:
    """One picture at CorrigoPro, mirrored by a refresh with keeping off; then keeping is turned on."""
    content = jpeg()
    cp_sim.add_work_order(WORK_ORDER, attachments=[{"name": "a.jpg", "content": content}])
    settings.CORRIGOPRO_KEEP_FILES = False
    refresh(django_capture_on_commit_callbacks)
    settings.CORRIGOPRO_KEEP_FILES = True
    return content


def keep_now(capture: Capture) -> TransferJob:
    with capture(execute=True):
        job = cp_keep_start(work_order=CorrigoWorkOrder.objects.get(), triggered_by="olga")
    assert job is not None
    job.refresh_from_db()
    return job


def test_a_provider_5xx_fails_the_item_visibly_and_the_retry_keeps_it(
    mirrored: bytes, cp_sim: CorrigoProSimulator, client: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    capture = django_capture_on_commit_callbacks
    cp_sim.faults = Faults(error_rate=1.0, seed=1)
    job = keep_now(capture)
    item = job.items.get()
    assert (job.status, item.status, item.failure_class) == ("failed", ItemStatus.FAILED, "provider_error")
    # Tried as often as any call (MEDIA_SYNC_MAX_ATTEMPTS), each try an audit row of the job.
    assert AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation="download_url").count() == 3
    attachment = CorrigoAttachment.objects.get()
    assert attachment.kept_file is None and attachment.keep_error == item.message
    login(client, "olga", "Operators")
    work_order_page = client.get(f"/admin/media_sync/corrigoworkorder/{attachment.work_order.pk}/change/")
    assert "failed: " + item.message[:20] in work_order_page.content.decode()
    assert item.message in client.get(f"/admin/media_sync/transferjob/{job.pk}/change/").content.decode()

    cp_sim.faults = Faults()
    run_again(capture, job)
    attachment.refresh_from_db()
    assert job.status == "succeeded" and attachment.keep_error == ""
    assert kept_bytes(attachment) == mirrored


def test_a_broken_download_is_tried_again_and_never_kept_half(
    mirrored: bytes, settings: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    capture = django_capture_on_commit_callbacks
    # CorrigoPro listed more bytes than the download gave: every try is a broken download.
    CorrigoAttachment.objects.update(size=len(mirrored) + 10)
    before = set(stored_files(settings))
    job = keep_now(capture)
    item = job.items.get()
    assert item.status == ItemStatus.FAILED and item.failure_class == "connection"
    assert f"the download gave {len(mirrored)} bytes where {len(mirrored) + 10} were listed" in item.message
    assert AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation="download_file").count() == 3
    assert not MediaFile.objects.exists() and set(stored_files(settings)) == before

    CorrigoAttachment.objects.update(size=len(mirrored))  # as the next refresh lists it
    run_again(capture, job)
    assert job.status == "succeeded"
    assert kept_bytes(CorrigoAttachment.objects.get()) == mirrored


def test_an_attachment_removed_before_our_copy_was_made_fails_saying_so_without_a_call(
    mirrored: bytes, django_capture_on_commit_callbacks: Capture
) -> None:
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        job = cp_keep_start(work_order=CorrigoWorkOrder.objects.get(), triggered_by="olga", enqueue=False)
    assert job is not None
    CorrigoAttachment.objects.update(removed_at=timezone.now())  # the removal arrived first
    with capture(execute=True):
        job_run(job_id=job.pk)
    item = job.items.get()
    assert item.status == ItemStatus.FAILED
    assert item.message.startswith("the customer removed it at CorrigoPro before our copy was made")
    assert not AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP).exists()
    assert cp_keep_start(work_order=CorrigoWorkOrder.objects.get(), triggered_by="olga") is None


# --- Off, and our own uploads ---------------------------------------------------------------------------


def test_with_the_setting_off_nothing_is_downloaded_to_keep(
    customer: CorrigoProSimulator, settings: Any, client: Client
) -> None:
    settings.CORRIGOPRO_KEEP_FILES = False
    sent = customer.customer_add_attachment(WORK_ORDER, name="a.jpg", content=jpeg())
    customer.customer_new_work_order(2002, attachments=[{"name": "b.jpg", "content": jpeg()}])
    with_refresh = job_run(job_id=cp_sync_start(work_order_ids=[WORK_ORDER], triggered_by="olga").pk)
    assert with_refresh is not None and with_refresh.status == "succeeded"
    assert keep_jobs() == [] and not CorrigoAttachment.objects.filter(kept_file__isnull=False).exists()
    # The thumbnail task fetched the pictures for their thumbnails; nothing else was downloaded.
    assert not AuditEvent.objects.filter(operation="download_file").exclude(job=None).exists()
    assert CorrigoAttachment.objects.get(attachment_id=sent.id).thumbnail_status == ThumbnailStatus.READY
    login(client, "olga", "Operators")
    assert ">off<" in client.get("/admin/media_sync/corrigoattachment/").content.decode()


def test_our_own_upload_is_linked_as_our_copy_without_a_download(
    cp_sim: CorrigoProSimulator, django_capture_on_commit_callbacks: Capture
) -> None:
    cp_sim.add_work_order(WORK_ORDER)
    work_order = CorrigoWorkOrder.objects.create(work_order_id=WORK_ORDER, status="Accepted")
    upload = cp_upload_start(
        work_order=work_order,
        source=SimpleUploadedFile("after.jpg", tiny_jpeg(), "image/jpeg"),
        name="after.jpg",
        performed_by="Ann",
        triggered_by="olga",
        enqueue=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        job_run(job_id=upload.pk)
    attachment = CorrigoAttachment.objects.get()
    assert attachment.kept_file_id == upload.params["media_file_id"] and attachment.added_by == "us"
    refresh(django_capture_on_commit_callbacks)
    assert keep_jobs() == []
    assert not AuditEvent.objects.filter(operation__in=["download_url", "download_file"]).exists()
    # Its thumbnail was made from the file we sent: nothing fetched from CorrigoPro.
    attachment.refresh_from_db()
    assert attachment.thumbnail_status == ThumbnailStatus.READY and attachment.thumbnail


# --- Who may download our copy, and what the audit keeps -----------------------------------------------


def test_only_those_who_may_read_attachments_download_our_copy_and_each_download_is_audited(
    mirrored: bytes, django_capture_on_commit_callbacks: Capture
) -> None:
    keep_now(django_capture_on_commit_callbacks)
    attachment = CorrigoAttachment.objects.get()
    url = f"/admin/media_sync/corrigoattachment/{attachment.pk}/our-copy/"
    answers = {}
    for name, group in (("sam", None), ("olga", "Operators"), ("leo", "Team leads")):
        visitor = Client()
        login(visitor, name, group)
        answers[name] = visitor.get(url).status_code
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    assert answers == {"sam": 403, "olga": 200, "leo": 200}
    rows = AuditEvent.objects.filter(kind=AuditKind.ACCESS).order_by("id")
    assert [(r.triggered_by, r.item, r.outcome) for r in rows] == [
        ("olga", attachment.attachment_id, "succeeded"),
        ("leo", attachment.attachment_id, "succeeded"),
    ]


def test_an_attachment_without_our_copy_offers_no_download_and_the_refusal_is_audited(
    mirrored: bytes, client: Client
) -> None:
    attachment = CorrigoAttachment.objects.get()
    login(client, "leo", "Team leads")
    response = client.get(f"/admin/media_sync/corrigoattachment/{attachment.pk}/our-copy/")
    assert response.status_code == 302
    refusal = AuditEvent.objects.get(kind=AuditKind.REFUSAL)
    assert refusal.operation == Operation.CP_KEPT_DOWNLOAD and "no copy" in refusal.message
    assert ">not yet<" in client.get("/admin/media_sync/corrigoattachment/").content.decode()


# --- Retention ------------------------------------------------------------------------------------------


def test_prune_never_drops_a_kept_copy_while_its_attachment_is_there(
    mirrored: bytes, settings: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    job = keep_now(django_capture_on_commit_callbacks)
    long_ago = timezone.now() - timedelta(days=settings.MEDIA_SYNC_MEDIA_GRACE_DAYS + 5)
    MediaFile.objects.update(created_at=long_ago)
    TransferJob.objects.filter(pk=job.pk).update(finished_at=long_ago)
    assert prune(dry_run=False).media_files == 0
    assert kept_bytes(CorrigoAttachment.objects.get()) == mirrored
    CorrigoWorkOrder.objects.all().delete()  # its attachments go with it: the copy is no one's evidence
    assert prune(dry_run=False).media_files == 1


def test_the_demo_work_orders_come_with_our_copies(
    cp_sim: CorrigoProSimulator, django_capture_on_commit_callbacks: Capture
) -> None:
    cp_sim.seed_demo()
    with django_capture_on_commit_callbacks(execute=True):
        demo_work_orders_load()
    attachments = CorrigoAttachment.objects.all()
    assert attachments.exists() and not attachments.filter(kept_file__isnull=True).exists()
    assert {job.triggered_by for job in keep_jobs()} == {"demo"}
