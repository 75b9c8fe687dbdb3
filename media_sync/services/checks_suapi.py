"""Check at the provider for Booking.com photo batches: the property's gallery (retrieveAll, one call per
property) by photo id. Beside the succeeded photos (confirmed, missing, removed later), a check records the
two ways Booking.com drops a photo without refusing it: ended as a duplicate, and a pending id that expired
before it got a photo id. Those two need no call: the batch's own record says so."""

from __future__ import annotations

from django.db.models import Q

from integrations.errors import ProviderError
from integrations.suapi.rules import FINAL_STATUSES, PhotoStatus
from media_sync.models import (
    BatchStatus,
    CheckResult,
    ItemStatus,
    SuBatchPhoto,
    SuGalleryPhoto,
    SuProperty,
    TransferItem,
    TransferJob,
)
from media_sync.services.audit import ExchangeRecorder, audit_name_items
from media_sync.services.checks_record import CheckSummary, check_record, gone_result
from media_sync.services.suapi import su_client
from media_sync.services.suapi_gallery import NO_PHOTOS

# Beside the succeeded items: a batch's photos that ended as duplicates, or expired before Booking.com
# decided (their batch expired while they were still new or enqueued).
SU_ALSO_CHECKED = Q(status=ItemStatus.FAILED) & (
    Q(su_photo__status=PhotoStatus.DUPLICATE)
    | (
        Q(su_photo__batch__status=BatchStatus.EXPIRED, su_photo__booking_photo_id="")
        & ~Q(su_photo__status__in=sorted(FINAL_STATUSES))
    )
)


def _gallery(job: TransferJob, property: SuProperty, names: str, summary: CheckSummary) -> set[str] | None:
    recorder = ExchangeRecorder(job=job)
    recorder.about(item=names, destination=property.hotel_id)
    client = su_client(recorder=recorder)
    try:
        photos = client.retrieve_all(hotel_id=property.hotel_id, channel_hotel_id=property.channel_hotel_id)
    except ProviderError as error:
        if error.code == NO_PHOTOS:  # Booking.com's answer for an empty gallery
            return set()
        summary.problems.append(f"property {property.hotel_id} could not be listed: {error.message}")
        return None
    return {photo.photo_id for photo in photos}


def check_su_batches(
    job: TransferJob, by_destination: dict[str, list[TransferItem]], triggered_by: str, summary: CheckSummary
) -> None:
    for hotel_id, items in by_destination.items():
        sent = {
            row.item_id: row for row in SuBatchPhoto.objects.filter(item__in=items).select_related("batch")
        }
        property = SuProperty.objects.filter(hotel_id=hotel_id).first()
        gallery = (
            _gallery(job, property, audit_name_items([i.item for i in items], "photos"), summary)
            if (property is not None and any(i.status == ItemStatus.SUCCEEDED for i in items))
            else set()
        )
        mirrored = (
            set(SuGalleryPhoto.objects.filter(property=property).values_list("photo_id", flat=True))
            if property is not None
            else set()
        )
        for item in items:
            row = sent.get(item.pk)
            if row is None or property is None:
                result, message = "", "cannot be checked: the batch photo or its property is not known here"
            elif row.status == PhotoStatus.DUPLICATE:
                result = CheckResult.DUPLICATE
                message = f"Booking.com ended it as a duplicate of photo {row.duplicate_of or '(not named)'}"
            elif item.status != ItemStatus.SUCCEEDED:
                result = CheckResult.EXPIRED
                message = "its pending id expired (seven days) before Booking.com gave it a photo id"
            elif gallery is None:
                continue  # the gallery could not be read: the item keeps its last result
            elif not row.booking_photo_id:
                result, message = "", "cannot be checked: Booking.com's photo id was never recorded"
            elif row.booking_photo_id in gallery:
                result, message = CheckResult.CONFIRMED, f"photo {row.booking_photo_id} is in the gallery"
            else:
                result = gone_result(item, seen=row.booking_photo_id in mirrored)
                gone = "no longer" if result == CheckResult.REMOVED_LATER else "not"
                message = f"photo {row.booking_photo_id} is {gone} in the gallery"
            check_record(
                job=job, item=item, result=result, message=message, triggered_by=triggered_by, summary=summary
            )
