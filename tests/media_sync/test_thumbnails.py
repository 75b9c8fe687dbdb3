"""Thumbnails of RecoveryConnect photos and CorrigoPro attachments, made from the bytes the simulators
serve over real HTTP, stored in media storage, audited and rate-limited like every provider call."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_pdf
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator, photo_jpeg
from integrations.suapi.simulator import SuApiSimulator, demo_picture
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoAttachment,
    CorrigoWorkOrder,
    Outcome,
    RecoveryConnectOrder,
    RecoveryConnectPhoto,
    SuProperty,
    ThumbnailStatus,
    WebhookDelivery,
)
from media_sync.services import throttle, thumbnails
from media_sync.services.corrigopro import cp_sync_start
from media_sync.services.recoveryconnect import rc_refresh_start, rc_transfer_photos_start
from media_sync.services.run import job_run
from media_sync.services.suapi import su_batch_start
from media_sync.services.suapi_photos import su_photo_add
from media_sync.services.thumbnails import thumbnails_make, thumbnails_sweep_stalled
from media_sync.services.webhooks import webhook_process

pytestmark = pytest.mark.django_db

ORDER = 57076503
WORK_ORDER = 1001


def size_of(field: Any) -> tuple[int, int]:
    with field.open("rb") as stored, Image.open(stored) as image:
        assert image.format == "JPEG"
        return image.size


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def order(rc_sim: RecoveryConnectSimulator) -> list[int]:
    """The demo order at the simulator, mirrored by a refresh job whose thumbnail task runs inline."""
    rc_sim.seed_demo()
    return [photo.id for photo in rc_sim.orders[ORDER].photos]


def refresh(django_capture_on_commit_callbacks: Callable[..., Any], order_id: int = ORDER) -> None:
    # The refresh queues the thumbnail task on commit; tests run django-q2 tasks in-process.
    with django_capture_on_commit_callbacks(execute=True):
        job_run(job_id=rc_refresh_start(order_ids=[order_id], triggered_by="ann", enqueue=False).pk)


def test_mirroring_an_order_makes_a_thumbnail_and_preview_of_each_photo(
    order: list[int], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    refresh(django_capture_on_commit_callbacks)
    photos = list(RecoveryConnectPhoto.objects.order_by("photo_id"))
    assert [p.photo_id for p in photos] == order
    assert {p.thumbnail_status for p in photos} == {ThumbnailStatus.READY}
    # The simulator serves 1024x768 JPEGs: a 160-pixel thumbnail and a 1024-pixel preview, aspect kept.
    assert size_of(photos[0].thumbnail) == (160, 120)
    assert size_of(photos[0].preview) == (1024, 768)
    assert photos[0].thumbnail.name.startswith("thumbnails/")


def test_each_fetch_is_an_audited_exchange_without_the_link_signature(
    order: list[int], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    refresh(django_capture_on_commit_callbacks)
    fetches = AuditEvent.objects.filter(kind=AuditKind.HTTP, operation="fetch_photo").order_by("id")
    assert [row.item for row in fetches] == [str(photo_id) for photo_id in order]
    row = fetches[0]
    assert (row.outcome, row.http_status, row.subject, row.job_id) == (
        Outcome.SUCCEEDED,
        200,
        f"order {ORDER}",
        None,
    )
    assert row.triggered_by == "thumbnails" and row.path == f"/recoveryconnect/photos/{order[0]}.jpg"
    assert "signature" not in row.path + row.request_summary + row.response_summary


def test_corrupt_missing_and_html_bytes_end_failed_with_the_reason_in_the_audit(
    order: list[int], rc_sim: RecoveryConnectSimulator, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    rc_sim.broken_photos = {order[0]: "corrupt", order[1]: "missing", order[2]: "html"}
    refresh(django_capture_on_commit_callbacks)
    by_id = {p.photo_id: p for p in RecoveryConnectPhoto.objects.all()}
    corrupt, missing, html, fine = (by_id[photo_id] for photo_id in order)
    assert (corrupt.thumbnail_status, corrupt.thumbnail_error) == (
        ThumbnailStatus.FAILED,
        "the file is not a readable picture",
    )
    assert missing.thumbnail_status == ThumbnailStatus.FAILED and "404" in missing.thumbnail_error
    assert html.thumbnail_status == ThumbnailStatus.FAILED and html.thumbnail_error
    assert not corrupt.thumbnail and fine.thumbnail_status == ThumbnailStatus.READY
    failed = AuditEvent.objects.filter(operation="fetch_photo", outcome=Outcome.FAILED)
    assert {(row.item, row.message) for row in failed} >= {
        (str(order[0]), "the file is not a readable picture")
    }
    assert {row.item for row in failed} == {str(photo_id) for photo_id in order[:3]}


def test_a_refresh_tries_failed_thumbnails_again(
    order: list[int], rc_sim: RecoveryConnectSimulator, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    rc_sim.broken_photos = {order[0]: "missing"}
    refresh(django_capture_on_commit_callbacks)
    rc_sim.broken_photos = {}
    refresh(django_capture_on_commit_callbacks)
    assert RecoveryConnectPhoto.objects.get(photo_id=order[0]).thumbnail_status == ThumbnailStatus.READY


def test_a_photo_too_large_to_read_is_refused_unread(
    order: list[int], monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    monkeypatch.setattr(thumbnails, "MAX_PICTURE_BYTES", len(photo_jpeg(order[0], "front.jpg")) - 1)
    refresh(django_capture_on_commit_callbacks)
    photo = RecoveryConnectPhoto.objects.get(photo_id=order[0])
    assert photo.thumbnail_status == ThumbnailStatus.FAILED and "larger than" in photo.thumbnail_error


def test_a_decompression_bomb_is_refused(
    order: list[int], monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1024 * 768 // 4)
    refresh(django_capture_on_commit_callbacks)
    photo = RecoveryConnectPhoto.objects.get(photo_id=order[0])
    assert photo.thumbnail_status == ThumbnailStatus.FAILED and "too large to decode" in photo.thumbnail_error


def test_pictures_are_thumbnailed_in_batches_each_run_queueing_the_next(
    order: list[int], django_capture_on_commit_callbacks: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        job_run(job_id=rc_refresh_start(order_ids=[ORDER], triggered_by="ann", enqueue=False).pk)
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(thumbnails, "async_task", lambda *args, **kwargs: queued.append(args))
    thumbnails_make(provider="recoveryconnect", parent_id=ORDER, batch=3)
    statuses = list(
        RecoveryConnectPhoto.objects.order_by("photo_id").values_list("thumbnail_status", flat=True)
    )
    assert statuses == ["ready", "ready", "ready", "pending"]
    assert queued == [(thumbnails.TASK, "recoveryconnect", ORDER)]
    queued.clear()
    thumbnails_make(provider="recoveryconnect", parent_id=ORDER, batch=3)
    assert queued == [] and not RecoveryConnectPhoto.objects.filter(thumbnail_status="pending").exists()


def test_every_thumbnail_request_goes_through_the_shared_rate_limit(
    order: list[int], monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        job_run(job_id=rc_refresh_start(order_ids=[ORDER], triggered_by="ann", enqueue=False).pk)
    paced: list[str] = []
    real_wait = throttle.provider_pace_wait

    def counted(provider: str, *, rate: float) -> float:
        paced.append(provider)
        return real_wait(provider, rate=rate)

    monkeypatch.setattr(throttle, "provider_pace_wait", counted)
    thumbnails_make(provider="recoveryconnect", parent_id=ORDER)
    # One photo list for fresh links, then one fetch per photo (the token is still cached).
    assert paced == ["recoveryconnect"] * (1 + len(order))
    assert (
        AuditEvent.objects.filter(
            kind=AuditKind.HTTP, operation__in=["list_photos", "fetch_photo"], job=None
        ).count()
        == 5
    )


# --- CorrigoPro ---------------------------------------------------------------------------------------


@pytest.fixture
def work_order(cp_sim: CorrigoProSimulator, settings: Any) -> dict[str, str]:
    # Without kept copies the thumbnail task fetches each picture itself; with them (the default) the
    # keep job makes thumbnails from our copy: tests/media_sync/test_corrigopro_keep.py.
    settings.CORRIGOPRO_KEEP_FILES = False
    cp_sim.add_work_order(
        WORK_ORDER,
        attachments=[
            {"name": "roof.jpg", "mime_type": "image/jpeg", "content": jpeg(800, 600)},
            {"name": "invoice.pdf", "mime_type": "application/pdf", "content": tiny_pdf()},
            {"name": "broken.png", "mime_type": "image/png", "content": b"\x89PNG\r\n\x1a\n not really"},
        ],
    )
    return {a.name: a.id for a in cp_sim.work_orders[WORK_ORDER].attachments}


def sync(django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job_run(job_id=cp_sync_start(work_order_ids=[WORK_ORDER], triggered_by="ann", enqueue=False).pk)


def test_mirroring_a_work_order_thumbnails_its_pictures_and_marks_documents(
    work_order: dict[str, str],
    cp_sim: CorrigoProSimulator,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    sync(django_capture_on_commit_callbacks)
    by_name = {a.name: a for a in CorrigoAttachment.objects.all()}
    roof, invoice, broken = by_name["roof.jpg"], by_name["invoice.pdf"], by_name["broken.png"]
    assert roof.thumbnail_status == ThumbnailStatus.READY
    assert size_of(roof.thumbnail) == (160, 120) and size_of(roof.preview) == (800, 600)
    assert invoice.thumbnail_status == ThumbnailStatus.NOT_A_PICTURE and not invoice.thumbnail
    assert broken.thumbnail_status == ThumbnailStatus.FAILED
    assert broken.thumbnail_error == "the file is not a readable picture"
    # A PDF is never fetched: its type says it is no picture. Each picture: a fresh link, then its bytes.
    fetched = AuditEvent.objects.filter(
        kind=AuditKind.HTTP, operation__in=["download_url", "download_file"], job=None
    )
    assert sorted(fetched.values_list("operation", "item")) == sorted(
        (operation, work_order[name])
        for operation in ("download_url", "download_file")
        for name in ("roof.jpg", "broken.png")
    )


def test_an_attachment_added_by_webhook_gets_its_thumbnail(
    cp_sim: CorrigoProSimulator, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    cp_sim.add_work_order(WORK_ORDER)
    added = cp_sim.customer_add_attachment(WORK_ORDER, name="leak.jpg")
    delivery = WebhookDelivery.objects.create(
        provider="corrigopro",
        message_id="m-1",
        event_type="AttachmentAdded",
        work_order_id=WORK_ORDER,
        body={"AttachmentId": added.id, "Name": "leak.jpg", "MimeType": "image/jpeg", "Size": added.size},
    )
    CorrigoWorkOrder.objects.create(work_order_id=WORK_ORDER)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_process(delivery_id=delivery.pk)
    attachment = CorrigoAttachment.objects.get(attachment_id=added.id)
    assert attachment.thumbnail_status == ThumbnailStatus.READY and attachment.added_by == "customer"


# --- Display: one helper everywhere, served through permission-checked views ------------------------------


def mirrored_order(rc_sim: RecoveryConnectSimulator, order_id: int, count: int) -> None:
    rc_sim.add_order(order_id, order_id + 1, photos=[{"name": f"p{n}.jpg"} for n in range(count)])
    job_run(job_id=rc_refresh_start(order_ids=[order_id], triggered_by="ann", enqueue=False).pk)
    thumbnails_make(provider="recoveryconnect", parent_id=order_id)


def test_the_photo_list_shows_each_thumbnail_linked_to_its_preview(
    operator: Client, rc_sim: RecoveryConnectSimulator
) -> None:
    mirrored_order(rc_sim, 1000, 2)
    photo = RecoveryConnectPhoto.objects.order_by("photo_id").first()
    assert photo is not None
    page = operator.get(reverse("admin:media_sync_recoveryconnectphoto_changelist")).content.decode()
    thumb = reverse("admin:media_sync_recoveryconnectphoto_thumbnail", args=[photo.pk])
    preview = reverse("admin:media_sync_recoveryconnectphoto_preview", args=[photo.pk])
    assert f'<a href="{preview}" class="thumb-link"' in page
    assert f'<img src="{thumb}" alt="Photo p0.jpg ({photo.photo_id})" width="80" height="60"' in page
    served = operator.get(thumb)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(served.streaming_content))) as image:  # type: ignore[attr-defined]
        assert image.size == (160, 120)


def test_a_failed_or_pending_photo_shows_a_placeholder_saying_why(
    operator: Client, rc_sim: RecoveryConnectSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(thumbnails, "async_task", lambda *args, **kwargs: None)  # the next run never comes
    rc_sim.add_order(1000, 1001, photos=[{"name": "gone.jpg"}, {"name": "later.jpg"}])
    job_run(job_id=rc_refresh_start(order_ids=[1000], triggered_by="ann", enqueue=False).pk)
    gone, later = RecoveryConnectPhoto.objects.order_by("photo_id")
    rc_sim.broken_photos = {gone.photo_id: "missing"}
    thumbnails_make(provider="recoveryconnect", parent_id=1000, batch=1)
    page = operator.get(reverse("admin:media_sync_recoveryconnectorder_change", args=[gone.order_id])).content
    text = page.decode()
    assert (
        f'aria-label="Photo gone.jpg ({gone.photo_id}): no picture: HTTP 404 Not Found for the photo link"'
        in text
    )
    assert f'aria-label="Photo later.jpg ({later.photo_id}): the thumbnail is being made"' in text
    assert (
        operator.get(reverse("admin:media_sync_recoveryconnectphoto_thumbnail", args=[gone.pk])).status_code
        == 404
    )


def test_a_pdf_attachment_shows_a_document_placeholder(
    operator: Client, work_order: dict[str, str], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    sync(django_capture_on_commit_callbacks)
    page = operator.get(reverse("admin:media_sync_corrigoattachment_changelist")).content.decode()
    assert 'aria-label="Attachment invoice.pdf: not a picture, no thumbnail"' in page
    assert 'alt="Attachment roof.jpg"' in page


def list_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_thumbnails_cost_no_query_per_row(operator: Client, rc_sim: RecoveryConnectSimulator) -> None:
    url = reverse("admin:media_sync_recoveryconnectphoto_changelist")
    mirrored_order(rc_sim, 1000, 2)
    few = list_queries(operator, url)
    mirrored_order(rc_sim, 2000, 12)
    assert list_queries(operator, url) == few
    small, large = (RecoveryConnectOrder.objects.get(order_id=order_id).pk for order_id in (1000, 2000))
    order_page = "admin:media_sync_recoveryconnectorder_change"
    assert list_queries(operator, reverse(order_page, args=[small])) == list_queries(
        operator, reverse(order_page, args=[large])
    )


def test_the_transfer_forms_show_the_photos_about_to_be_sent(
    operator: Client, rc_sim: RecoveryConnectSimulator
) -> None:
    mirrored_order(rc_sim, 1000, 3)
    photos = list(RecoveryConnectPhoto.objects.order_by("photo_id"))
    chosen = operator.post(
        reverse("admin:media_sync_recoveryconnectphoto_changelist"),
        {"action": "transfer_photos", "_selected_action": [photos[0].pk, photos[2].pk]},
    ).content.decode()
    assert chosen.count('class="thumb"') == 2 and f'alt="Photo p2.jpg ({photos[2].photo_id})"' in chosen
    order = RecoveryConnectOrder.objects.get(order_id=1000)
    whole = operator.post(
        reverse("admin:media_sync_recoveryconnectorder_changelist"),
        {"action": "transfer_all_photos", "_selected_action": [order.pk]},
    ).content.decode()
    assert "Its photos:" in whole and whole.count('class="thumb"') == 3


def test_the_attachment_forms_show_the_attachment(
    operator: Client, work_order: dict[str, str], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    sync(django_capture_on_commit_callbacks)
    roof = CorrigoAttachment.objects.get(name="roof.jpg")
    for view in ("edit", "delete_at_provider"):
        page = operator.get(reverse(f"admin:media_sync_corrigoattachment_{view}", args=[roof.pk]))
        assert 'alt="Attachment roof.jpg"' in page.content.decode()


def test_each_item_row_of_a_job_page_shows_its_photo_in_one_query(
    operator: Client, rc_sim: RecoveryConnectSimulator
) -> None:
    def job_page(count: int, order_id: int) -> tuple[str, int]:
        mirrored_order(rc_sim, order_id, count)
        photos = list(RecoveryConnectPhoto.objects.filter(order__order_id=order_id))
        job = rc_transfer_photos_start(photos=photos, destinations=[9999], triggered_by="olga", enqueue=False)
        url = reverse("admin:media_sync_transferjob_change", args=[job.pk])
        return operator.get(url).content.decode(), list_queries(operator, url)

    page, few = job_page(2, 1000)
    assert page.count('class="thumb"') == 2
    page, many = job_page(9, 2000)
    assert page.count('class="thumb"') == 9 and many == few


def test_a_booking_batch_job_page_shows_each_photo_sent(operator: Client, su_sim: SuApiSimulator) -> None:
    hotel = SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615")
    photos = [
        su_photo_add(
            property=hotel,
            source=ContentFile(demo_picture(n), name=f"{n}.jpg"),
            name=f"{n}.jpg",
            uploaded_by="olga",
        )
        for n in (1, 2)
    ]
    job = su_batch_start(property=hotel, photos=photos, tags=[], triggered_by="olga", enqueue=False)
    page = operator.get(reverse("admin:media_sync_transferjob_change", args=[job.pk])).content.decode()
    assert page.count('class="thumb"') == 2 and 'alt="Photo 1.jpg"' in page


def test_the_sweep_queues_again_pictures_whose_task_was_lost(
    order: list[int], monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # the thumbnail task's message is lost
        job_run(job_id=rc_refresh_start(order_ids=[ORDER], triggered_by="ann", enqueue=False).pk)
    assert thumbnails_sweep_stalled() == 0  # just mirrored: its task may still come
    RecoveryConnectPhoto.objects.update(synced_at=timezone.now() - timedelta(minutes=11))
    assert thumbnails_sweep_stalled() == 1  # runs in-process here, as a worker would
    assert set(RecoveryConnectPhoto.objects.values_list("thumbnail_status", flat=True)) == {
        ThumbnailStatus.READY
    }
    RecoveryConnectPhoto.objects.update(thumbnail_status=ThumbnailStatus.PENDING)
    assert thumbnails_sweep_stalled() == 0  # thumbnail requests just now: a live run is left alone
