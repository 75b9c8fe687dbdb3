"""Thumbnails and previews of the providers' pictures, made by a worker from the bytes the provider serves.

One task per RecoveryConnect order or CorrigoPro work order thumbnails up to BATCH of its pending pictures
and queues itself again for the rest, so a thousand photos never hold a worker (or a page) for long. Every
request goes through the provider's shared rate limit and is an HTTP row in the audit, like any other.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from integrations.corrigopro.rules import MAX_FILE_SIZE
from integrations.errors import ProviderError
from media_sync.models import (
    AuditEvent,
    CorrigoAttachment,
    ItemStatus,
    MediaFile,
    Operation,
    Pictured,
    Provider,
    RecoveryConnectPhoto,
    ThumbnailStatus,
    TransferItem,
)

# Modules, not names: they queue thumbnails from here as they mirror, so each imports the other.
from media_sync.services import corrigopro, recoveryconnect
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.media import Previews, media_previews, media_previews_of
from media_sync.services.refusals import InputRefused

TASK = "media_sync.tasks.make_thumbnails"
# Pictures per task run: a run stays well inside django-q2's timeout even at the provider's slowest.
BATCH = 20
# RecoveryConnect documents no photo size limit; CorrigoPro refuses files over 20 MB. Nothing larger is read.
MAX_PICTURE_BYTES = MAX_FILE_SIZE
# Who the audit rows of this background work name.
TRIGGERED_BY = "thumbnails"


def picture_status(*, mime_type: str, name: str) -> str:
    """Pending (to be fetched) for a picture, or one that may be; not a picture when its type says so."""
    mime = mime_type or mimetypes.guess_type(name)[0] or ""
    return ThumbnailStatus.PENDING if not mime or mime.startswith("image/") else ThumbnailStatus.NOT_A_PICTURE


def thumbnails_refresh(pictures: QuerySet[Any], *, provider: str, parent_id: int) -> None:
    """After a refresh of an order (or work order): new pictures start pending, those whose thumbnail
    failed are tried again, and the worker is queued for them."""
    pictures.filter(thumbnail_status=ThumbnailStatus.FAILED).update(thumbnail_status=ThumbnailStatus.PENDING)
    thumbnails_enqueue(provider=provider, parent_id=parent_id)


def thumbnails_enqueue(*, provider: str, parent_id: int) -> None:
    """Queue thumbnailing of an order's (or work order's) pending pictures once the caller's writes commit."""
    transaction.on_commit(
        lambda: async_task(TASK, provider, parent_id, task_name=f"thumbnails-{provider}-{parent_id}")
    )


def _store(picture: Pictured, previews: Previews, stem: str) -> None:
    for field, data, suffix in (
        (picture.thumbnail, previews.thumbnail, "thumb"),
        (picture.preview, previews.preview, "preview"),
    ):
        if field:
            field.delete(save=False)
        field.save(f"{stem}-{suffix}.jpg", ContentFile(data), save=False)
    # An UPDATE, not save(): the mirror may have dropped the row meanwhile, and that is no error.
    type(picture)._default_manager.filter(pk=picture.pk).update(
        thumbnail=picture.thumbnail.name,
        preview=picture.preview.name,
        thumbnail_status=ThumbnailStatus.READY,
        thumbnail_error="",
    )


def _fail(picture: Model, reason: str) -> None:
    type(picture)._default_manager.filter(pk=picture.pk).update(
        thumbnail_status=ThumbnailStatus.FAILED, thumbnail_error=reason[:1000]
    )


def thumbnails_from_file(picture: Pictured, media: MediaFile, stem: str) -> str:
    """The thumbnail and preview of a picture made from a file we hold (one we uploaded, our kept copy):
    nothing is fetched. Empty when they are stored; else why not, for the caller to act on."""
    try:
        with media.file.storage.open(media.file.name, "rb") as fileobj:
            previews = media_previews_of(fileobj)
    except InputRefused as refusal:
        return str(refusal)
    except OSError as error:
        return f"our copy could not be read: {type(error).__name__}"
    _store(picture, previews, stem)
    return ""


def _rc_batch(order_id: int, batch: int) -> bool:
    photos = list(
        RecoveryConnectPhoto.objects.filter(
            order__order_id=order_id, thumbnail_status=ThumbnailStatus.PENDING
        ).order_by("photo_id")[: batch + 1]
    )
    if not photos:
        return False
    recorder = ExchangeRecorder(job=None, subject=f"order {order_id}", triggered_by=TRIGGERED_BY)
    client = recoveryconnect.rc_client(recorder=recorder)
    # photo_url is short-lived and never stored: a fresh list gives links good for the next 15 minutes.
    try:
        links = {photo.id: photo.photo_url for photo in client.list_photos(order_id=order_id)}
    except ProviderError as error:
        for photo in photos[:batch]:
            _fail(photo, f"RecoveryConnect did not list the order's photos: {error.message}")
        return len(photos) > batch
    for photo in photos[:batch]:
        link = links.get(photo.photo_id)
        if not link:
            _fail(photo, "RecoveryConnect no longer lists this photo")
            continue
        recorder.about(item=str(photo.photo_id))
        try:
            previews = client.fetch_photo(link, max_bytes=MAX_PICTURE_BYTES, decode=media_previews)
        except ProviderError as error:
            _fail(photo, error.message)
            continue
        _store(photo, previews, f"rc-{photo.photo_id}")
    return len(photos) > batch


def _cp_stem(attachment: CorrigoAttachment) -> str:
    stem = PurePosixPath(attachment.name).stem or attachment.attachment_id
    return f"cp-{attachment.attachment_id[:8]}-{stem[:40]}"


def thumbnails_from_copy(attachment: CorrigoAttachment) -> None:
    """The thumbnail and preview of an attachment made from our kept copy: nothing fetched again."""
    media = attachment.kept_file
    if media is None or not media.file:
        return
    reason = thumbnails_from_file(attachment, media, _cp_stem(attachment))
    if reason:
        _fail(attachment, reason)  # the same bytes as CorrigoPro's: fetching them would fail alike


def cp_being_kept() -> QuerySet[TransferItem, Any]:
    """The ids of attachments a keep job is about to download (it makes their thumbnails from our copy)."""
    return TransferItem.objects.filter(
        job__operation=Operation.CP_KEEP, status__in=(ItemStatus.PENDING, ItemStatus.IN_PROGRESS)
    ).values("item")


def _cp_batch(work_order_id: int, batch: int) -> bool:
    attachments = list(
        CorrigoAttachment.objects.filter(
            work_order__work_order_id=work_order_id,
            thumbnail_status=ThumbnailStatus.PENDING,
        )
        # Removed at CorrigoPro: only our copy is left to make a thumbnail from.
        .exclude(removed_at__isnull=False, kept_file__isnull=True)
        .exclude(attachment_id__in=cp_being_kept())
        .select_related("kept_file")
        .order_by("pk")[: batch + 1]
    )
    if not attachments:
        return False
    recorder = ExchangeRecorder(job=None, subject=f"work order {work_order_id}", triggered_by=TRIGGERED_BY)
    client = corrigopro.cp_client(recorder=recorder)
    for attachment in attachments[:batch]:
        if attachment.kept_file is not None and attachment.kept_file.file:
            thumbnails_from_copy(attachment)
            continue
        if attachment.removed_at:
            _fail(attachment, "removed at CorrigoPro, and no copy of ours is left")
            continue
        recorder.about(item=attachment.attachment_id, destination=str(work_order_id))
        fetch = partial(client.fetch_file, max_bytes=MAX_PICTURE_BYTES, decode=media_previews)
        try:
            # The link is valid 15 minutes and never stored: asked for right before its one use.
            link = client.download_url(work_order_id=work_order_id, attachment_id=attachment.attachment_id)
            previews = fetch(link)
        except ProviderError as error:
            _fail(attachment, error.message)
            continue
        _store(attachment, previews, _cp_stem(attachment))
    return len(attachments) > batch


BATCHES: dict[str, Callable[[int, int], bool]] = {
    Provider.RECOVERYCONNECT: _rc_batch,
    Provider.CORRIGOPRO: _cp_batch,
}


def thumbnails_make(*, provider: str, parent_id: int, batch: int = BATCH) -> None:
    """Thumbnail up to `batch` pending pictures of one RecoveryConnect order or CorrigoPro work order,
    and queue the next run when more are pending. A picture whose bytes cannot be had ends failed, with
    the reason the placeholder shows; a task delivered twice at worst makes a thumbnail twice."""
    if BATCHES[provider](parent_id, batch):
        async_task(TASK, provider, parent_id, task_name=f"thumbnails-{provider}-{parent_id}")


def thumbnails_sweep_stalled(*, older_than: timedelta = timedelta(minutes=10), limit: int = 100) -> int:
    """Queue again the orders and work orders whose pictures have waited `older_than` with no thumbnail
    request for as long (a lost queue message, a worker that died): a live run writes an audit row every
    few seconds, so one that is working is left alone."""
    cutoff = timezone.now() - older_than
    pending = {"thumbnail_status": ThumbnailStatus.PENDING, "synced_at__lt": cutoff}
    orders = RecoveryConnectPhoto.objects.filter(**pending).values_list("order__order_id", flat=True)
    work_orders = CorrigoAttachment.objects.filter(removed_at__isnull=True, **pending).values_list(
        "work_order__work_order_id", flat=True
    )
    queued = 0
    for provider, subject, parent_ids in (
        (Provider.RECOVERYCONNECT, "order", list(orders.order_by().distinct()[:limit])),
        (Provider.CORRIGOPRO, "work order", list(work_orders.order_by().distinct()[:limit])),
    ):
        for parent_id in parent_ids:
            recent = AuditEvent.objects.filter(
                subject=f"{subject} {parent_id}", triggered_by=TRIGGERED_BY, timestamp__gte=cutoff
            )
            if not recent.exists():
                async_task(TASK, provider, parent_id, task_name=f"thumbnails-{provider}-{parent_id}")
                queued += 1
    return queued
