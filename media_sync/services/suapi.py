"""SU API (Booking.com) batches: send them, delete a processed photo. The photos before they are sent
(intake, preview, pre-flight) are in `suapi_photos.py`; following a sent batch in `suapi_polls.py`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial
from typing import TypedDict, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from integrations.suapi.client import SuApiClient
from integrations.suapi.rules import PENDING_ID_LIFETIME, PhotoStatus
from media_sync.models import (
    BatchStatus,
    Operation,
    Provider,
    SuBatch,
    SuBatchPhoto,
    SuPhoto,
    SuProperty,
    TransferJob,
)
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim
from media_sync.services.items import item_finish, item_wait, provider_call
from media_sync.services.jobs import job_create, job_enqueue
from media_sync.services.media import media_link
from media_sync.services.providers import provider_transport
from media_sync.services.refusals import InputRefused
from media_sync.services.suapi_photos import DELETED, su_photo_add, su_preflight


def su_client(*, recorder: ExchangeRecorder) -> SuApiClient:
    config = settings.SUAPI
    return SuApiClient(
        base_url=config["BASE_URL"],
        app_id=config["APP_ID"],
        api_key=config["API_KEY"],
        **provider_transport(Provider.SUAPI, recorder=recorder),
    )


def poll_interval(polls: int) -> timedelta:
    """30 s, 1 min, 2 min, ... at most an hour: quick while Booking.com is quick, light when it is not."""
    return timedelta(seconds=min(3600, 30 * 2**polls))


# --- Sending a batch -------------------------------------------------------------------------------


def _tags(values: list[int]) -> list[int]:
    if any(not isinstance(tag, int) or tag <= 0 for tag in values):
        raise InputRefused("tags are positive numbers (Booking.com tag ids)")
    return sorted(set(values))


def su_property_get_or_create(*, hotel_id: str, channel_hotel_id: str) -> SuProperty:
    """The property the SU API knows by `hotel_id`, recorded on first use. A hotel is mapped to one
    Booking.com channel hotel: naming another one refuses."""
    property, _ = SuProperty.objects.get_or_create(
        hotel_id=hotel_id, defaults={"channel_hotel_id": channel_hotel_id}
    )
    if property.channel_hotel_id != channel_hotel_id:
        raise InputRefused(
            f"hotel {hotel_id} is mapped to channel hotel {property.channel_hotel_id}, not {channel_hotel_id}"
        )
    return property


class CreateParams(TypedDict):
    # The public URLs, sent as given; our own photos get a fresh signed link each time they are sent.
    urls: list[str]


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
            operation=Operation.SU_CREATE_BATCH,
            subject=f"property {property.hotel_id}",
            triggered_by=triggered_by,
            items=[(f"{index + 1}. {label}"[:100], property.hotel_id) for index, label in enumerate(labels)],
            params=CreateParams(urls=urls),
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


def su_batch_start_from_files(
    *,
    hotel_id: str,
    channel_hotel_id: str,
    files: Iterable[File],
    urls: list[str] | None = None,
    tags: list[int],
    triggered_by: str,
    enqueue: bool = True,
) -> TransferJob:
    """`su_batch_start` for pictures not taken in yet (each through `su_photo_add`, read in turn as
    `files` yields it), or public URLs, to the property `su_property_get_or_create` finds. All or
    nothing: a refused picture or batch leaves no property, photo, stored file or job behind."""
    photos: list[SuPhoto] = []
    try:
        with transaction.atomic():
            property = su_property_get_or_create(hotel_id=hotel_id, channel_hotel_id=channel_hotel_id)
            for file in files:
                name = file.name or ""
                photos.append(
                    su_photo_add(property=property, source=file, name=name, uploaded_by=triggered_by)
                )
            return su_batch_start(
                property=property,
                photos=photos,
                urls=urls,
                tags=tags,
                triggered_by=triggered_by,
                enqueue=enqueue,
            )
    except Exception:
        # The rollback took the rows, not what they had put in storage.
        for photo in photos:
            photo.thumbnail.delete(save=False)
            photo.media.file.delete(save=False)
        raise


def _run_create(job: TransferJob) -> None:
    batch = SuBatch.objects.select_related("property").get(job=job)
    claimed = job_claim(items=job.items.all())
    if not claimed:
        return
    recorder = ExchangeRecorder(job=job)
    client = su_client(recorder=recorder)
    params = cast(CreateParams, job.params)
    urls = iter(params.get("urls", []))
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
            status=PhotoStatus.NEW,
        )


# --- Deleting a processed photo ----------------------------------------------------------------------


# Booking.com refuses it; we say why before trying (every property is taken to be open: no verb says).
MAIN_PHOTO_KEPT = (
    "photo {photo_id} is the main photo of this property at Booking.com, which never deletes the main photo "
    "of an open property: make another photo the main one first (order the gallery), then delete this one"
)


def su_is_main_photo(property: SuProperty, photo_id: str) -> bool:
    """Whether the gallery mirror (last refresh, or our last order) has `photo_id` as the main photo."""
    return property.gallery.filter(photo_id=photo_id, is_main=True, removed_at__isnull=True).exists()


class DeleteParams(TypedDict):
    batch_photo: int  # the SuBatchPhoto's pk


def su_delete_start(*, sent: SuBatchPhoto, triggered_by: str, enqueue: bool = True) -> TransferJob:
    if sent.status != PhotoStatus.OK or not sent.booking_photo_id:
        raise InputRefused("only a photo Booking.com processed (status ok) can be deleted there")
    property = sent.batch.property
    if su_is_main_photo(property, sent.booking_photo_id):
        raise InputRefused(MAIN_PHOTO_KEPT.format(photo_id=sent.booking_photo_id))
    return job_create(
        provider=Provider.SUAPI,
        operation=Operation.SU_DELETE,
        subject=f"property {property.hotel_id}",
        triggered_by=triggered_by,
        items=[(sent.booking_photo_id, property.hotel_id)],
        params=DeleteParams(batch_photo=sent.pk),
        enqueue=enqueue,
    )


def _run_delete(job: TransferJob) -> None:
    params = cast(DeleteParams, job.params)
    sent = SuBatchPhoto.objects.select_related("batch__property").get(pk=params["batch_photo"])
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
                SuBatchPhoto.objects.filter(pk=sent.pk).update(status=DELETED)
                item_finish(
                    item=item, job=job, succeeded=True, reference=ruid, message="deleted from Booking.com"
                )


RUNNERS: dict[str, Callable[[TransferJob], None]] = {
    Operation.SU_CREATE_BATCH: _run_create,
    Operation.SU_DELETE: _run_delete,
}
