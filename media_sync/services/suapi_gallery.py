"""A property's gallery at Booking.com, mirrored here: read it (retrieveAll, retrieveAssociateImages for the
order and the main photo, and each room's gallery), reconcile it with what we sent, and keep the tag list
that turns tag ids into names. Changing tags, order and rooms is in `suapi_gallery_jobs.py`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypedDict, TypeVar, cast

from django.db import transaction
from django.utils import timezone

from integrations.errors import ProviderError
from integrations.suapi.client import SuApiClient
from integrations.suapi.rules import PhotoStatus
from integrations.suapi.schemas import Associated, PropertyPhoto
from media_sync.models import (
    GalleryOrigin,
    Operation,
    Provider,
    SuBatchPhoto,
    SuGalleryPhoto,
    SuProperty,
    SuRoom,
    SuTag,
    ThumbnailStatus,
    TransferJob,
)
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim
from media_sync.services.items import item_finish, provider_call
from media_sync.services.jobs import job_create
from media_sync.services.media import media_previews
from media_sync.services.suapi import su_client
from media_sync.services.thumbnails import MAX_PICTURE_BYTES
from media_sync.services.thumbnails import _fail as thumbnail_failed
from media_sync.services.thumbnails import _store as thumbnail_store

logger = logging.getLogger(__name__)
T = TypeVar("T")
# "578 photos data not found": what the SU API answers for a gallery (or room) with no photo in it.
NO_PHOTOS = "578"
# Who the audit rows of the daily refreshes name.
SCHEDULE_USER = "schedule"


# --- Tags ------------------------------------------------------------------------------------------------


def su_tags_refresh(*, client: SuApiClient) -> int:
    """The tag table made equal to retrieveTags' list; returns how many tags it holds."""
    tags = client.retrieve_tags()
    now = timezone.now()
    with transaction.atomic():
        for tag in tags:
            SuTag.objects.update_or_create(tag_id=tag.tag_id, defaults={"name": tag.name, "synced_at": now})
        if tags:  # an empty answer is no reason to forget every name
            SuTag.objects.exclude(tag_id__in=[tag.tag_id for tag in tags]).delete()
    return len(tags)


def su_tags_refresh_scheduled() -> int:
    """The daily schedule's work. A failure is in the audit (the exchange rows) and the log; the names
    already known stay."""
    recorder = ExchangeRecorder(job=None, subject="Booking.com photo tags", triggered_by=SCHEDULE_USER)
    recorder.about(item="tag list")
    try:
        return su_tags_refresh(client=su_client(recorder=recorder))
    except ProviderError as error:
        logger.warning("Booking.com tag list not refreshed: %s", error.message)
        return 0


def su_tags_ensure(*, triggered_by: str) -> None:
    """Fill the tag table when it is empty (the first refresh, a form shown before any schedule ran)."""
    if SuTag.objects.exists():
        return
    recorder = ExchangeRecorder(job=None, subject="Booking.com photo tags", triggered_by=triggered_by)
    recorder.about(item="tag list")
    try:
        su_tags_refresh(client=su_client(recorder=recorder))
    except ProviderError as error:
        logger.warning("Booking.com tag list not filled: %s", error.message)


def tag_names(tag_ids: list[int]) -> list[str]:
    """Each tag as a person reads it: its name, or its number marked as not in the tag list."""
    names = dict(SuTag.objects.filter(tag_id__in=tag_ids).values_list("tag_id", "name"))
    return [names.get(tag_id, f"tag {tag_id} (not in the tag list)") for tag_id in tag_ids]


# --- Reading the gallery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GalleryRead:
    photos: list[PropertyPhoto]  # retrieveAll, in its order
    order: list[str]  # retrieveAssociateImages: the main photo first
    rooms: dict[int, list[str]]  # SuRoom pk -> its gallery, main photo first


def _or_empty(call: Callable[[], T], empty: T) -> T:
    """A gallery with no photo is answered "578": that is an empty gallery, not a failure."""
    try:
        return call()
    except ProviderError as error:
        if error.code == NO_PHOTOS:
            return empty
        raise


def _read(client: SuApiClient, property: SuProperty) -> GalleryRead:
    ids = {"hotel_id": property.hotel_id, "channel_hotel_id": property.channel_hotel_id}
    no_order = Associated(main_photo=None, is_ordered=False, other_photos=[])
    none: list[PropertyPhoto] = []
    photos = _or_empty(partial(client.retrieve_all, **ids), none)
    order = _or_empty(partial(client.retrieve_associate_images, **ids), no_order).photo_ids
    rooms = {
        room.pk: _or_empty(
            partial(client.retrieve_associate_images, **ids, channel_room_id=room.channel_room_id), no_order
        ).photo_ids
        for room in property.rooms.all()
    }
    return GalleryRead(photos, order, rooms)


@dataclass
class Reconciled:
    linked: int = 0
    outside: int = 0
    removed: int = 0

    def text(self, total: int) -> str:
        return (
            f"{total} photos at Booking.com: {self.linked} sent from here, {self.outside} added outside "
            f"this app; {self.removed} newly removed at Booking.com"
        )


def _ours(property: SuProperty) -> dict[str, SuBatchPhoto]:
    """The photos we sent that Booking.com took, by their photo_id (the latest send of each). A batch
    sent elsewhere that we only follow is not ours: its photos count as added outside this app."""
    sent = (
        SuBatchPhoto.objects.filter(batch__property=property, status=PhotoStatus.OK)
        .exclude(booking_photo_id="")
        .exclude(batch__job__operation=Operation.SU_FOLLOW_BATCH)
    )
    return {row.booking_photo_id: row for row in sent.order_by("id")}


def su_gallery_reconcile(*, property: SuProperty, read: GalleryRead) -> Reconciled:
    """Every photo Booking.com holds linked to ours or recorded as added outside; ours it no longer holds
    (and any mirrored photo it stopped listing) marked removed at Booking.com, kept and shown."""
    now, result = timezone.now(), Reconciled()
    ours = _ours(property)
    listed = [photo.photo_id for photo in read.photos]
    order = [photo_id for photo_id in read.order if photo_id in listed]
    position = {
        photo_id: index for index, photo_id in enumerate(order + [p for p in listed if p not in order])
    }
    main = next(iter(position), None)
    with transaction.atomic():
        existing = {row.photo_id: row for row in property.gallery.select_for_update()}
        for photo in read.photos:
            sent = ours.get(photo.photo_id)
            row = existing.get(photo.photo_id) or SuGalleryPhoto(property=property, photo_id=photo.photo_id)
            if sent is not None:
                row.sent = sent
            row.origin = GalleryOrigin.SENT if row.sent_id else GalleryOrigin.OUTSIDE
            if row.thumbnail_status == ThumbnailStatus.FAILED:
                row.thumbnail_status = ThumbnailStatus.PENDING  # this refresh tries again
            row.tags, row.position, row.is_main = photo.tags, position[photo.photo_id], photo.photo_id == main
            row.seen_at, row.removed_at = now, None
            row.save()
            result.linked += row.origin == GalleryOrigin.SENT
            result.outside += row.origin == GalleryOrigin.OUTSIDE
        gone = [row for photo_id, row in existing.items() if photo_id not in position and not row.removed_at]
        for row in gone:
            row.removed_at, row.is_main = now, False
            row.save(update_fields=["removed_at", "is_main"])
        never_seen = [
            sent for photo_id, sent in ours.items() if photo_id not in position and photo_id not in existing
        ]
        SuGalleryPhoto.objects.bulk_create(
            SuGalleryPhoto(
                property=property,
                photo_id=photo_id,
                origin=GalleryOrigin.SENT,
                sent=sent,
                tags=[],
                position=len(position) + index,
                removed_at=now,
            )
            for index, (photo_id, sent) in enumerate((s.booking_photo_id, s) for s in never_seen)
        )
        result.removed = len(gone) + len(never_seen)
        for room in property.rooms.all():
            if room.pk in read.rooms:
                SuRoom.objects.filter(pk=room.pk).update(photo_ids=read.rooms[room.pk], synced_at=now)
    return result


def _thumbnails(
    client: SuApiClient, recorder: ExchangeRecorder, property: SuProperty, read: GalleryRead
) -> None:
    """Thumbnails of the photos we hold no copy of (added outside this app, or sent by a URL), from
    Booking.com's public preview (sample_url). The link comes from this read and is used once, never
    stored: the next refresh hands out a fresh one. Ours show the thumbnail made when they came in."""
    samples = {photo.photo_id: photo.sample_url for photo in read.photos}
    waiting = property.gallery.filter(
        sent__photo__isnull=True, removed_at__isnull=True, thumbnail_status=ThumbnailStatus.PENDING
    )
    for row in waiting.order_by("position"):
        link = samples.get(row.photo_id)
        if not link:
            thumbnail_failed(row, "Booking.com gave no preview (sample_url) for this photo")
            continue
        recorder.about(item=row.photo_id, destination=property.hotel_id)
        try:
            previews = client.fetch_sample(link, max_bytes=MAX_PICTURE_BYTES, decode=media_previews)
        except ProviderError as error:
            thumbnail_failed(row, error.message)
            continue
        thumbnail_store(row, previews, f"su-{property.hotel_id}-{row.photo_id}")


class GalleryParams(TypedDict):
    property: int  # the SuProperty's pk


def su_gallery_sync_start(*, property: SuProperty, triggered_by: str, enqueue: bool = True) -> TransferJob:
    """One job, one item: read the property's gallery at Booking.com and reconcile the mirror."""
    return job_create(
        provider=Provider.SUAPI,
        operation=Operation.SU_SYNC_GALLERY,
        subject=f"property {property.hotel_id}",
        triggered_by=triggered_by,
        items=[(f"gallery of {property.hotel_id}", property.hotel_id)],
        params=GalleryParams(property=property.pk),
        enqueue=enqueue,
    )


def _run_sync(job: TransferJob) -> None:
    property = SuProperty.objects.get(pk=cast(GalleryParams, job.params)["property"])
    recorder = ExchangeRecorder(job=job)
    client = su_client(recorder=recorder)
    for item in job_claim(items=job.items.all()):
        recorder.about(item="tag list", destination=property.hotel_id)
        if not SuTag.objects.exists():
            # A failure is in the audit; the gallery is read all the same, its tags shown as numbers.
            with contextlib.suppress(ProviderError):
                su_tags_refresh(client=client)
        recorder.about(item=item.item, destination=property.hotel_id)
        read = provider_call(job, [item], partial(_read, client, property))
        if read is None:
            continue
        result = su_gallery_reconcile(property=property, read=read)
        _thumbnails(client, recorder, property, read)
        item_finish(item=item, job=job, succeeded=True, message=result.text(len(read.photos)))


def su_galleries_refresh_all() -> int:
    """The daily schedule's work: a refresh job for every property. Returns how many were queued."""
    count = 0
    for property in SuProperty.objects.order_by("pk"):
        su_gallery_sync_start(property=property, triggered_by=SCHEDULE_USER)
        count += 1
    return count


RUNNERS: dict[str, Callable[[TransferJob], None]] = {
    Operation.SU_SYNC_GALLERY: _run_sync,
}
