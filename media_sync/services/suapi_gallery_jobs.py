"""Changing a Booking.com gallery from here: a photo's tags (update), the order and main photo of the
property or of a room (imageOrder), and which photos a room shows (associate / unassociate). Each is a job
of one item; a success updates the mirror (`suapi_gallery.py`), a refusal by Booking.com ends the item
with its reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TypedDict, cast

from django.db import transaction

from integrations.suapi.rules import MAX_PHOTOS
from media_sync.models import Operation, Provider, SuProperty, SuRoom, SuTag, TransferJob
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim
from media_sync.services.items import item_finish, provider_call
from media_sync.services.jobs import job_create
from media_sync.services.refusals import InputRefused
from media_sync.services.suapi import su_client
from media_sync.services.suapi_gallery import tag_names

PHOTO_ID_LENGTH = 50


def _photo_id(value: str) -> str:
    value = value.strip()
    if not value or len(value) > PHOTO_ID_LENGTH or any(c.isspace() for c in value):
        raise InputRefused(f"{value!r} is not a Booking.com photo id")
    return value


def _photo_ids(values: list[str]) -> list[str]:
    ids = [_photo_id(value) for value in values]
    if not ids:
        raise InputRefused("name at least one photo")
    if len(ids) > MAX_PHOTOS:
        raise InputRefused(f"a gallery holds at most {MAX_PHOTOS} photos; {len(ids)} were named")
    twice = [photo_id for photo_id, count in Counter(ids).items() if count > 1]
    if twice:
        raise InputRefused(f"photo {', '.join(twice)} is named more than once")
    return ids


def su_room_get_or_create(*, property: SuProperty, channel_room_id: str) -> SuRoom:
    channel_room_id = channel_room_id.strip()
    if not channel_room_id or len(channel_room_id) > PHOTO_ID_LENGTH:
        raise InputRefused(f"{channel_room_id!r} is not a channel room id")
    room, _ = SuRoom.objects.get_or_create(property=property, channel_room_id=channel_room_id)
    return room


# --- Tags ------------------------------------------------------------------------------------------------


class TagsParams(TypedDict):
    property: int
    photo_id: str
    tags: list[int]


def su_set_tags_start(
    *, property: SuProperty, photo_id: str, tags: list[int], triggered_by: str, enqueue: bool = True
) -> TransferJob:
    """Replace a photo's tags at Booking.com. A tag named twice, or not in the tag table (retrieveTags'
    list: callers fill it first when empty, `su_tags_ensure`), is refused before anything is sent."""
    photo_id = _photo_id(photo_id)
    twice = [tag for tag, count in Counter(tags).items() if count > 1]
    if twice:
        raise InputRefused(f"{', '.join(tag_names(twice))} is named more than once")
    known = set(SuTag.objects.filter(tag_id__in=tags).values_list("tag_id", flat=True))
    unknown = [str(tag) for tag in tags if tag not in known]
    if unknown:
        raise InputRefused(f"tag {', '.join(unknown)} is not in Booking.com's tag list")
    return job_create(
        provider=Provider.SUAPI,
        operation=Operation.SU_SET_TAGS,
        subject=f"property {property.hotel_id}",
        triggered_by=triggered_by,
        items=[(photo_id, property.hotel_id)],
        params=TagsParams(property=property.pk, photo_id=photo_id, tags=list(tags)),
        enqueue=enqueue,
    )


def _run_set_tags(job: TransferJob) -> None:
    params = cast(TagsParams, job.params)
    property = SuProperty.objects.get(pk=params["property"])
    recorder = ExchangeRecorder(job=job)
    client = su_client(recorder=recorder)
    for item in job_claim(items=job.items.all()):
        recorder.about(item=item.item, destination=item.destination)
        call = partial(
            client.update,
            hotel_id=property.hotel_id,
            channel_hotel_id=property.channel_hotel_id,
            photo_id=params["photo_id"],
            tags=params["tags"],
        )
        if provider_call(job, [item], call) is None:
            continue
        with transaction.atomic():
            property.gallery.filter(photo_id=params["photo_id"]).update(tags=params["tags"])
            names = ", ".join(tag_names(params["tags"])) or "none"
            item_finish(item=item, job=job, succeeded=True, message=f"tags now: {names}")


# --- Order and main photo ----------------------------------------------------------------------------------


class OrderParams(TypedDict):
    property: int
    room: int | None  # the SuRoom's pk, for a room's gallery
    photo_ids: list[str]


def su_order_start(
    *,
    property: SuProperty,
    photo_ids: list[str],
    room: SuRoom | None = None,
    triggered_by: str,
    enqueue: bool = True,
) -> TransferJob:
    """imageOrder with the photos in the order given, the first becoming the main photo."""
    ids = _photo_ids(photo_ids)
    if room is not None and room.property_id != property.pk:
        raise InputRefused(f"room {room.channel_room_id} is not a room of {property.hotel_id}")
    label = f"order of room {room.channel_room_id}" if room else f"order of {property.hotel_id}"
    return job_create(
        provider=Provider.SUAPI,
        operation=Operation.SU_ORDER_PHOTOS,
        subject=f"property {property.hotel_id}",
        triggered_by=triggered_by,
        items=[(label, property.hotel_id)],
        params=OrderParams(property=property.pk, room=room.pk if room else None, photo_ids=ids),
        enqueue=enqueue,
    )


def _reordered(current: list[str], first: list[str]) -> list[str]:
    """The photos named first, in that order; the others after them, as they were."""
    return first + [photo_id for photo_id in current if photo_id not in first]


def _run_order(job: TransferJob) -> None:
    params = cast(OrderParams, job.params)
    property = SuProperty.objects.get(pk=params["property"])
    room = SuRoom.objects.get(pk=params["room"]) if params["room"] else None
    recorder = ExchangeRecorder(job=job)
    client = su_client(recorder=recorder)
    ids = params["photo_ids"]
    for item in job_claim(items=job.items.all()):
        recorder.about(item=item.item, destination=item.destination)
        call = partial(
            client.image_order,
            hotel_id=property.hotel_id,
            channel_hotel_id=property.channel_hotel_id,
            photo_ids=ids,
            channel_room_id=room.channel_room_id if room else "",
        )
        answer = provider_call(job, [item], call)
        if answer is None:
            continue
        with transaction.atomic():
            if room is not None:
                SuRoom.objects.filter(pk=room.pk).update(photo_ids=_reordered(room.photo_ids, ids))
            else:
                live = property.gallery.filter(removed_at__isnull=True)
                current = list(live.order_by("position").values_list("photo_id", flat=True))
                for position, photo_id in enumerate(_reordered(current, ids)):
                    live.filter(photo_id=photo_id).update(position=position, is_main=position == 0)
            item_finish(
                item=item, job=job, succeeded=True, message=f"{answer}; main photo {ids[0]}", reference=ids[0]
            )


# --- A room's photos -------------------------------------------------------------------------------------


class RoomParams(TypedDict):
    room: int
    photo_ids: list[str]
    add: bool  # associate; else unassociate


def su_room_photos_start(
    *, room: SuRoom, photo_ids: list[str], add: bool, triggered_by: str, enqueue: bool = True
) -> TransferJob:
    """Add photos of the property to a room's gallery (associate) or take them out (unassociate)."""
    ids = _photo_ids(photo_ids)
    verb = "add to" if add else "take out of"
    return job_create(
        provider=Provider.SUAPI,
        operation=Operation.SU_ROOM_PHOTOS,
        subject=f"property {room.property.hotel_id}",
        triggered_by=triggered_by,
        items=[(f"{verb} room {room.channel_room_id}", room.property.hotel_id)],
        params=RoomParams(room=room.pk, photo_ids=ids, add=add),
        enqueue=enqueue,
    )


def _run_room_photos(job: TransferJob) -> None:
    params = cast(RoomParams, job.params)
    room = SuRoom.objects.select_related("property").get(pk=params["room"])
    property, ids = room.property, params["photo_ids"]
    recorder = ExchangeRecorder(job=job)
    client = su_client(recorder=recorder)
    for item in job_claim(items=job.items.all()):
        recorder.about(item=item.item, destination=item.destination)
        call = partial(
            client.associate if params["add"] else client.unassociate,
            hotel_id=property.hotel_id,
            channel_hotel_id=property.channel_hotel_id,
            channel_room_id=room.channel_room_id,
            photo_ids=ids,
        )
        answer = provider_call(job, [item], call)
        if answer is None:
            continue
        with transaction.atomic():
            room.refresh_from_db()
            if params["add"]:
                photos = room.photo_ids + [photo_id for photo_id in ids if photo_id not in room.photo_ids]
            else:
                photos = [photo_id for photo_id in room.photo_ids if photo_id not in ids]
            SuRoom.objects.filter(pk=room.pk).update(photo_ids=photos)
            item_finish(item=item, job=job, succeeded=True, message=f"{answer}: {', '.join(ids)}")


RUNNERS: dict[str, Callable[[TransferJob], None]] = {
    Operation.SU_SET_TAGS: _run_set_tags,
    Operation.SU_ORDER_PHOTOS: _run_order,
    Operation.SU_ROOM_PHOTOS: _run_room_photos,
}
