"""SU API (Booking.com) writes: take in photos, check them, send batches, follow each photo to its end."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.errors import FailureClass, ProviderError
from integrations.suapi.client import SuApiClient
from integrations.suapi.schemas import PendingPhoto
from media_sync.models import (
    BatchStatus,
    ItemStatus,
    Provider,
    SuBatch,
    SuBatchPhoto,
    SuPhoto,
    SuProperty,
    TransferItem,
    TransferJob,
)
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim
from media_sync.services.items import item_finish, item_wait, provider_call
from media_sync.services.jobs import job_create, job_enqueue, job_refresh_status
from media_sync.services.media import (
    hamming,
    media_file_store,
    media_image_info,
    media_link,
    media_preview,
    media_thumbnail_file,
)
from media_sync.services.providers import retry_policy
from media_sync.services.refusals import InputRefused
from media_sync.services.throttle import provider_slot

CREATE = "su_create_batch"
DELETE = "su_delete"
# Following a batch sent from elsewhere (su_pending with a batch id we never sent): its photos are
# learnt from the first read, and nothing of it can be sent again from here.
FOLLOW = "su_follow_batch"
# What the SU API's photo batch ids look like ("4EU2z7o-qUQ"), within our column's 50 characters.
BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,50}")
# Booking.com's limits (docs/providers/suapi.md, "Booking.com's limits").
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
MIN_SIDE, MAX_SIDE = 300, 14000
MAX_BYTES = 50 * 1024 * 1024
MAX_PHOTOS = 299
# Two dHashes this close (of 64 bits) are the same picture, resized or re-encoded.
NEAR_DUPLICATE_BITS = 6
PENDING_ID_LIFETIME = timedelta(days=7)
POLL_LEASE = timedelta(minutes=5)
FAILURE_CLASSES = {
    "duplicate": FailureClass.DUPLICATE,
    "bad_url": FailureClass.INVALID_INPUT,
    "error_decode": FailureClass.INVALID_INPUT,
}
ORIGINAL_ID = re.compile(r"original photo id is\s*:\s*(\S+)", re.IGNORECASE)


def su_client(*, recorder: ExchangeRecorder) -> SuApiClient:
    config = settings.SUAPI
    return SuApiClient(
        base_url=config["BASE_URL"],
        app_id=config["APP_ID"],
        api_key=config["API_KEY"],
        timeout=settings.MEDIA_SYNC_HTTP_TIMEOUT,
        retry=retry_policy(),
        on_exchange=recorder,
        gate=partial(provider_slot, "suapi"),
    )


def poll_interval(polls: int) -> timedelta:
    """30 s, 1 min, 2 min, ... at most an hour: quick while Booking.com is quick, light when it is not."""
    return timedelta(seconds=min(3600, 30 * 2**polls))


# --- Photos in -------------------------------------------------------------------------------------


def su_photo_add(*, property: SuProperty, source: File, name: str, uploaded_by: str) -> SuPhoto:
    """Measure a picture and keep it if Booking.com could take it: format, size, pixel limits."""
    if not source.size:
        raise InputRefused(f"{name}: the file is empty")
    if source.size > MAX_BYTES:
        raise InputRefused(f"{name}: {source.size / 1048576:.1f} MB is over Booking.com's 50 MB")
    with source.open("rb") as fileobj:
        try:
            info = media_image_info(fileobj)
        except InputRefused as refusal:
            raise InputRefused(f"{name}: {refusal}") from None
        if info.image_format not in FORMATS:
            raise InputRefused(f"{name}: {info.image_format or 'this'} format is not taken; send JPEG or PNG")
        if not (MIN_SIDE <= info.width <= MAX_SIDE and MIN_SIDE <= info.height <= MAX_SIDE):
            raise InputRefused(
                f"{name}: {info.width}x{info.height} pixels is outside Booking.com's "
                f"{MIN_SIDE}x{MIN_SIDE} to {MAX_SIDE}x{MAX_SIDE}"
            )
        with transaction.atomic():
            media = media_file_store(
                source=source, name=name, mime_type=FORMATS[info.image_format], uploaded_by=uploaded_by
            )
            photo = SuPhoto(
                property=property,
                media=media,
                image_format=info.image_format,
                width=info.width,
                height=info.height,
                phash=info.phash,
            )
            thumbnail = media_thumbnail_file(info, name)
            photo.thumbnail.save(thumbnail.name or "thumb.jpg", thumbnail, save=False)
            photo.save()
    return photo


def su_photo_preview(photo: SuPhoto) -> SuPhoto:
    """The photo with its larger picture, made from the stored file the first time it is asked for (the
    intake decodes small, for the thumbnail and the hash; most photos are never opened large)."""
    if not photo.preview:
        with photo.media.file.open("rb") as source:
            preview = ContentFile(
                media_preview(source), name=f"{PurePosixPath(photo.media.original_name).stem}-preview.jpg"
            )
        photo.preview.save(preview.name or "preview.jpg", preview, save=False)
        SuPhoto.objects.filter(pk=photo.pk).update(preview=photo.preview.name)
    return photo


# --- Pre-flight ------------------------------------------------------------------------------------


@dataclass
class Preflight:
    photo: SuPhoto
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def su_preflight(*, property: SuProperty, photos: list[SuPhoto]) -> list[Preflight]:
    """What Booking.com would refuse (problems) and what it would call a duplicate (warnings), per photo,
    before anything is sent: exact (same SHA-256) and near (close dHash) copies of photos already sent
    to this property and still standing, or of another photo in the same selection."""
    # Pictures Booking.com has for this property, as far as we know: live, on their way, or found to be
    # a duplicate of one it had.
    standing = (
        SuBatchPhoto.objects.filter(batch__property=property, photo__isnull=False)
        .exclude(status__in=("bad_url", "error", "error_decode", "deleted"))
        .exclude(batch__status__in=(BatchStatus.FAILED, BatchStatus.EXPIRED))
        .select_related("photo__media", "batch")
    )
    sent = {
        (
            bp.photo.media.sha256,
            bp.photo.phash,
            f"{bp.photo} sent in batch {bp.batch.batch_id or '(sending)'}",
        )
        for bp in standing
        if bp.photo
    }
    live = property.photos.filter(sent__status="ok").exclude(sent__status="deleted").distinct().count()
    rows = [Preflight(photo) for photo in photos]
    if live + len(photos) > MAX_PHOTOS:
        for row in rows:
            row.problems.append(
                f"{live} photos are live and {len(photos)} more would pass Booking.com's {MAX_PHOTOS}"
            )
    for index, row in enumerate(rows):
        sha, phash = row.photo.media.sha256, row.photo.phash
        earlier = [
            (r.photo.media.sha256, r.photo.phash, f"{r.photo} (in this selection)") for r in rows[:index]
        ]
        for other_sha, other_phash, label in [*sent, *earlier]:
            if other_sha == sha:
                row.warnings.append(f"the same file as {label}")
            elif hamming(other_phash, phash) <= NEAR_DUPLICATE_BITS:
                row.warnings.append(f"looks like {label}")
    return rows


# --- Sending a batch -------------------------------------------------------------------------------


def _tags(values: list[int]) -> list[int]:
    if any(not isinstance(tag, int) or tag <= 0 for tag in values):
        raise InputRefused("tags are positive numbers (Booking.com tag ids)")
    return sorted(set(values))


def su_batch_start(
    *,
    property: SuProperty,
    photos: list[SuPhoto] | None = None,
    urls: list[str] | None = None,
    tags: list[int],
    triggered_by: str,
    enqueue: bool = True,
) -> TransferJob:
    """One batch of the given photos (or public URLs), one item per photo. Problems refuse the batch;
    duplicate warnings do not (the form shows them so the operator can leave those photos out)."""
    photos, urls = photos or [], urls or []
    if not photos and not urls:
        raise InputRefused("choose at least one photo")
    if any(photo.property_id != property.pk for photo in photos):
        raise InputRefused(f"every photo must belong to {property}")
    for url in urls:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise InputRefused(f"{url!r} is not an http(s) URL")
    problems = [
        f"{row.photo}: {p}" for row in su_preflight(property=property, photos=photos) for p in row.problems
    ]
    if problems:
        raise InputRefused("; ".join(problems))
    tags = _tags(tags)
    # A URL's file name, else its host: never its query string, which may carry a signature.
    labels = [str(photo) for photo in photos] + [
        urlsplit(url).path.rsplit("/", 1)[-1] or urlsplit(url).netloc for url in urls
    ]
    with transaction.atomic():
        job = job_create(
            provider=Provider.SUAPI,
            operation=CREATE,
            subject=f"property {property.hotel_id}",
            triggered_by=triggered_by,
            items=[(f"{index + 1}. {label}"[:100], property.hotel_id) for index, label in enumerate(labels)],
            params={"urls": urls},
            enqueue=False,
        )
        batch = SuBatch.objects.create(property=property, job=job, tags=tags)
        items = list(job.items.order_by("id"))
        SuBatchPhoto.objects.bulk_create(
            [
                SuBatchPhoto(batch=batch, photo=photo, item=item)
                for photo, item in zip(photos, items, strict=False)
            ]
            + [
                SuBatchPhoto(batch=batch, item=item, url_path=urlsplit(url).path)
                for url, item in zip(urls, items[len(photos) :], strict=True)
            ]
        )
        if enqueue:
            transaction.on_commit(partial(job_enqueue, job_id=job.pk))
    return job


def _run_create(job: TransferJob) -> None:
    batch = SuBatch.objects.select_related("property").get(job=job)
    claimed = job_claim(items=job.items.all())
    if not claimed:
        return
    recorder = ExchangeRecorder(job=job)
    client = su_client(recorder=recorder)
    urls = iter(job.params.get("urls", []))
    images = []
    for sent in batch.photos.select_related("photo__media").filter(item__in=claimed).order_by("id"):
        # A fresh, expiring link per send; only its path is kept (the signature is in the query).
        url = media_link(sent.photo.media, ttl=settings.MEDIA_SYNC_LINK_TTL) if sent.photo else next(urls)
        SuBatchPhoto.objects.filter(pk=sent.pk).update(url_path=urlsplit(url).path)
        images.append((url, batch.tags))
    recorder.about(item=f"{len(images)} photos", destination=batch.property.hotel_id)
    created = provider_call(
        job,
        claimed,
        partial(
            client.create,
            hotel_id=batch.property.hotel_id,
            channel_hotel_id=batch.property.channel_hotel_id,
            images=images,
        ),
    )
    now = timezone.now()
    if created is None:
        SuBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.FAILED, status_reason=claimed[0].message
        )
        return
    SuBatch.objects.filter(pk=batch.pk).update(
        batch_id=created.batch_id,
        status=BatchStatus.POLLING,
        sent_at=now,
        expires_at=now + PENDING_ID_LIFETIME,
        next_poll_at=now + poll_interval(0),
    )
    for item in claimed:
        item_wait(
            item=item,
            job=job,
            message=f"in batch {created.batch_id}; waiting for Booking.com",
            reference=created.ruid,
            status="new",
        )


# --- Following a batch -----------------------------------------------------------------------------


def _take_lease(batch_pk: int, now: datetime) -> bool:
    """Only one poller works on a batch at a time, across every worker; a dead one's lease runs out."""
    return bool(
        SuBatch.objects.filter(pk=batch_pk, status=BatchStatus.POLLING)
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now))
        .update(poll_lease_until=now + POLL_LEASE)
    )


def _end_waiting(batch: SuBatch, *, status: str, reason: str) -> None:
    job = batch.job
    for item in job.items.filter(status=ItemStatus.WAITING):
        item_finish(
            item=item, job=job, succeeded=False, failure_class=FailureClass.PROVIDER_ERROR, message=reason
        )
    SuBatch.objects.filter(pk=batch.pk).update(status=status, status_reason=reason, poll_lease_until=None)
    job_refresh_status(job=job)


def _record(job: TransferJob, sent: SuBatchPhoto, entry: PendingPhoto, ruid: str) -> None:
    """One photo's news. Each change of status is an audit row; a final one ends the item."""
    changed = entry.status != sent.status
    original = ORIGINAL_ID.search(entry.status_message)
    duplicate_of = (original.group(1) if original else entry.photo_id) if entry.status == "duplicate" else ""
    SuBatchPhoto.objects.filter(pk=sent.pk).update(
        status=entry.status,
        status_message=entry.status_message,
        photo_pending_id=entry.photo_pending_id,
        booking_photo_id=entry.photo_id,
        duplicate_of=duplicate_of,
        request_timestamp=entry.request_timestamp,
    )
    if not changed:
        return
    item = sent.item
    message = entry.status_message or f"Booking.com: {entry.status}"
    if entry.final:
        item_finish(
            item=item,
            job=job,
            succeeded=entry.status == "ok",
            provider_status=entry.status,
            failure_class=FAILURE_CLASSES.get(entry.status, FailureClass.PROVIDER_ERROR),
            message=message if entry.status != "ok" else f"photo {entry.photo_id} is live",
            reference=entry.photo_id or ruid,
        )
    else:
        item_wait(item=item, job=job, message=message, reference=entry.photo_pending_id, status=entry.status)


def su_batch_poll(*, batch_pk: int) -> None:
    """Read the batch's pending photos once and record what changed; plan the next read or end it."""
    now = timezone.now()
    if not _take_lease(batch_pk, now):
        return
    batch = SuBatch.objects.select_related("property", "job").get(pk=batch_pk)
    if batch.expires_at and now >= batch.expires_at:
        sent_at = f"{batch.sent_at:%Y-%m-%d %H:%M}" if batch.sent_at else "it was sent"
        reason = f"still not processed when its pending ids expired, seven days after {sent_at}"
        _end_waiting(batch, status=BatchStatus.EXPIRED, reason=reason)
        return
    recorder = ExchangeRecorder(job=batch.job)
    recorder.about(item=batch.batch_id, destination=batch.property.hotel_id)
    try:
        pending = su_client(recorder=recorder).pending_images(
            hotel_id=batch.property.hotel_id,
            channel_hotel_id=batch.property.channel_hotel_id,
            batch_id=batch.batch_id,
        )
    except ProviderError as error:
        if error.failure_class == FailureClass.NOT_FOUND:
            _end_waiting(
                batch, status=BatchStatus.EXPIRED, reason=f"the SU API no longer knows the batch: {error}"
            )
            return
        # Down or throttled after the retries: the next poll tries again, and expiry bounds it.
        pending = None
    if pending is not None and batch.job.operation == FOLLOW:
        _learn_photos(batch, pending.photos)
    if pending is not None:
        by_path = {urlsplit(entry.url).path: entry for entry in pending.photos}
        by_pending_id = {entry.photo_pending_id: entry for entry in pending.photos if entry.photo_pending_id}
        for sent in batch.photos.select_related("item").filter(item__status=ItemStatus.WAITING):
            entry = by_pending_id.get(sent.photo_pending_id) or by_path.get(sent.url_path)
            if entry is not None:
                _record(batch.job, sent, entry, pending.ruid)
    still_waiting = batch.job.items.filter(status=ItemStatus.WAITING).exists()
    SuBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.POLLING if still_waiting else BatchStatus.FINISHED,
        polls=batch.polls + 1,
        next_poll_at=now + poll_interval(batch.polls + 1) if still_waiting else None,
        poll_lease_until=None,
    )
    job_refresh_status(job=batch.job)


def su_batch_follow(*, property: SuProperty, batch_id: str, triggered_by: str) -> SuBatch:
    """Record a batch sent from elsewhere and follow it like ours: polled now and on the schedule until
    each photo is final or its pending ids expire. One job, whose items are its photos once read."""
    batch_id = batch_id.strip()
    if not BATCH_ID.fullmatch(batch_id):
        raise InputRefused(
            f"{batch_id!r} is not a photo batch id (letters, digits, - and _, like 4EU2z7o-qUQ)"
        )
    now = timezone.now()
    with transaction.atomic():
        job = job_create(
            provider=Provider.SUAPI,
            operation=FOLLOW,
            subject=f"property {property.hotel_id}",
            triggered_by=triggered_by,
            items=[],
            params={"batch_id": batch_id},
            enqueue=False,
        )
        # Sent at an unknown time: its pending ids live seven days from when we first hear of it at most.
        return SuBatch.objects.create(
            property=property,
            job=job,
            batch_id=batch_id,
            status=BatchStatus.POLLING,
            expires_at=now + PENDING_ID_LIFETIME,
            next_poll_at=now,
        )


def _learn_photos(batch: SuBatch, entries: list[PendingPhoto]) -> None:
    """A followed batch's photos, as the SU API lists them: each new one becomes a waiting item."""
    known = set(batch.photos.values_list("url_path", flat=True))
    for entry in entries:
        path = urlsplit(entry.url).path
        if path in known:
            continue
        known.add(path)
        label = path.rsplit("/", 1)[-1] or entry.photo_pending_id
        with transaction.atomic():
            item = TransferItem.objects.create(
                job=batch.job,
                item=f"{len(known)}. {label}"[:100],
                destination=batch.property.hotel_id,
                status=ItemStatus.WAITING,
            )
            SuBatchPhoto.objects.create(
                batch=batch, item=item, url_path=path, photo_pending_id=entry.photo_pending_id
            )


def su_poll_due() -> int:
    """The periodic schedule's work: every batch whose next poll is due. Returns how many were polled."""
    due = list(
        SuBatch.objects.filter(status=BatchStatus.POLLING, next_poll_at__lte=timezone.now()).values_list(
            "pk", flat=True
        )
    )
    for batch_pk in due:
        su_batch_poll(batch_pk=batch_pk)
    return len(due)


def su_poll_now(*, batch: SuBatch) -> None:
    """ "Refresh status now": the next poll is due at once (the lease still keeps it to one poller)."""
    SuBatch.objects.filter(pk=batch.pk, status=BatchStatus.POLLING).update(next_poll_at=timezone.now())
    su_batch_poll(batch_pk=batch.pk)


# --- Deleting a processed photo ----------------------------------------------------------------------


def su_delete_start(*, sent: SuBatchPhoto, triggered_by: str, enqueue: bool = True) -> TransferJob:
    if sent.status != "ok" or not sent.booking_photo_id:
        raise InputRefused("only a photo Booking.com processed (status ok) can be deleted there")
    property = sent.batch.property
    return job_create(
        provider=Provider.SUAPI,
        operation=DELETE,
        subject=f"property {property.hotel_id}",
        triggered_by=triggered_by,
        items=[(sent.booking_photo_id, property.hotel_id)],
        params={"batch_photo": sent.pk},
        enqueue=enqueue,
    )


def _run_delete(job: TransferJob) -> None:
    sent = SuBatchPhoto.objects.select_related("batch__property").get(pk=job.params["batch_photo"])
    property = sent.batch.property
    recorder = ExchangeRecorder(job=job)
    client = su_client(recorder=recorder)
    for item in job_claim(items=job.items.all()):
        recorder.about(item=item.item, destination=item.destination)
        call = partial(
            client.delete,
            hotel_id=property.hotel_id,
            channel_hotel_id=property.channel_hotel_id,
            photo_id=item.item,
        )
        ruid = provider_call(job, [item], call)
        if ruid is not None:
            with transaction.atomic():
                SuBatchPhoto.objects.filter(pk=sent.pk).update(status="deleted")
                item_finish(
                    item=item, job=job, succeeded=True, reference=ruid, message="deleted from Booking.com"
                )


RUNNERS: dict[str, Callable[[TransferJob], None]] = {
    CREATE: _run_create,
    DELETE: _run_delete,
    # Its work is the polling; a run of its job (the sweep, a retry) only reads the batch again.
    FOLLOW: lambda job: su_batch_poll(batch_pk=SuBatch.objects.get(job=job).pk),
}
