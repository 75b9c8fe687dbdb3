"""Following a Booking.com batch once sent, ours or one sent from elsewhere: polled on a schedule
until each photo has a final status or the batch's pending ids expire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypedDict
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.errors import FailureClass, ProviderError
from integrations.suapi.rules import BATCH_ID, PENDING_ID_LIFETIME, PhotoStatus
from integrations.suapi.schemas import PendingPhoto
from media_sync.models import (
    BatchStatus,
    ItemStatus,
    Operation,
    Provider,
    SuBatch,
    SuBatchPhoto,
    SuProperty,
    TransferItem,
    TransferJob,
)
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.items import item_finish, item_wait
from media_sync.services.jobs import job_create, job_refresh_status
from media_sync.services.refusals import InputRefused
from media_sync.services.suapi import poll_interval, su_client

# The longest batch id SuBatch.batch_id holds.
BATCH_ID_LENGTH = 50
POLL_LEASE = timedelta(minutes=5)


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
    SuBatchPhoto.objects.filter(pk=sent.pk).update(
        status=entry.status,
        status_message=entry.status_message,
        photo_pending_id=entry.photo_pending_id,
        booking_photo_id=entry.photo_id,
        duplicate_of=entry.duplicate_of,
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
            succeeded=entry.status == PhotoStatus.OK,
            provider_status=entry.status,
            failure_class=entry.failure_class,
            message=message if entry.status != PhotoStatus.OK else f"photo {entry.photo_id} is live",
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
    if pending is not None and batch.job.operation == Operation.SU_FOLLOW_BATCH:
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


class FollowParams(TypedDict):
    # What was asked, kept on the job; the runner reads the SuBatch row, which holds the same id.
    batch_id: str


def su_batch_follow(*, property: SuProperty, batch_id: str, triggered_by: str) -> SuBatch:
    """Record a batch sent from elsewhere and follow it like ours: polled now and on the schedule until
    each photo is final or its pending ids expire. One job, whose items are its photos once read."""
    batch_id = batch_id.strip()
    if len(batch_id) > BATCH_ID_LENGTH or not BATCH_ID.fullmatch(batch_id):
        raise InputRefused(
            f"{batch_id!r} is not a photo batch id (letters, digits, - and _, like 4EU2z7o-qUQ)"
        )
    now = timezone.now()
    with transaction.atomic():
        job = job_create(
            provider=Provider.SUAPI,
            operation=Operation.SU_FOLLOW_BATCH,
            subject=f"property {property.hotel_id}",
            triggered_by=triggered_by,
            items=[],
            params=FollowParams(batch_id=batch_id),
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


RUNNERS: dict[str, Callable[[TransferJob], None]] = {
    # Its work is the polling; a run of its job (the sweep, a retry) only reads the batch again.
    Operation.SU_FOLLOW_BATCH: lambda job: su_batch_poll(batch_pk=SuBatch.objects.get(job=job).pk),
}
