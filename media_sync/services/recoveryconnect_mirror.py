"""The RecoveryConnect mirror written from one refresh of an order: its photos, its recoveries and which
recovery each photo hangs on, in a fixed number of queries whatever the number of photos."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from integrations.recoveryconnect.schemas import Photo, Recovery
from media_sync.models import (
    Provider,
    RecoveryConnectOrder,
    RecoveryConnectPhoto,
    RecoveryConnectRecovery,
    TransferItem,
    TransferJob,
)
from media_sync.services import thumbnails
from media_sync.services.items import item_finish

PHOTO_FIELDS = ["order", "name", "type_id", "type_name", "recovery", "synced_at"]


@dataclass
class OrderListing:
    """What one refresh read of an order: its photos, its recoveries, and each recovery's photos."""

    photos: list[Photo]
    recoveries: list[Recovery] = field(default_factory=list)
    recovery_photos: dict[int, list[Photo]] = field(default_factory=dict)


def rc_mirror_order(job: TransferJob, item: TransferItem, listing: OrderListing) -> None:
    """Write the listing as the order's mirror and finish the item. A photo listed on the order and on a
    recovery is one row, with its recovery. A photo we uploaded as personal property is on no recovery
    list (RecoveryConnect lists personal-property photos nowhere but the order): it keeps its recovery."""
    order_id = int(item.item)
    now = timezone.now()
    photos = {photo.id: photo for photo in listing.photos}
    recovery_of: dict[int, int] = {}
    for recovery_id, listed in listing.recovery_photos.items():
        for photo in listed:
            photos.setdefault(photo.id, photo)
            recovery_of[photo.id] = recovery_id
    with transaction.atomic():
        order, _ = RecoveryConnectOrder.objects.get_or_create(order_id=order_id)
        recoveries = _mirror_recoveries(order, listing.recoveries, now)
        known = dict(order.photos.values_list("photo_id", "recovery_id"))
        personal = set(order.photos.filter(personal=True).values_list("photo_id", flat=True))
        order.photos.exclude(photo_id__in=photos).delete()
        rows = [
            RecoveryConnectPhoto(
                photo_id=photo.id,
                order=order,
                name=photo.name,
                type_id=photo.type_id,
                type_name=photo.type_name,
                recovery_id=recoveries.get(recovery_of[photo.id])
                if photo.id in recovery_of
                else (known.get(photo.id) if photo.id in personal else None),
                synced_at=now,
            )
            for photo in photos.values()
        ]
        # One statement for every photo: new ones are inserted (thumbnail pending), the others updated.
        RecoveryConnectPhoto.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["photo_id"], update_fields=PHOTO_FIELDS
        )
        order.photos_synced_at = now
        order.save(update_fields=["photos_synced_at"])
        thumbnails.thumbnails_refresh(
            order.photos.all(), provider=Provider.RECOVERYCONNECT, parent_id=order_id
        )
        new, removed = len(set(photos) - set(known)), len(set(known) - set(photos))
        item_finish(
            item=item,
            job=job,
            succeeded=True,
            http_status=200,
            message=f"{len(photos)} photos listed: {new} new, {removed} removed"
            + (f"; {len(listing.recoveries)} recoveries" if listing.recoveries else ""),
        )


def _mirror_recoveries(
    order: RecoveryConnectOrder, recoveries: list[Recovery], now: datetime
) -> dict[int, int]:
    """The order's recoveries as listed (those no longer listed are dropped); recovery id -> row pk."""
    order.recoveries.exclude(recovery_id__in=[r.id for r in recoveries]).delete()
    RecoveryConnectRecovery.objects.bulk_create(
        [
            RecoveryConnectRecovery(
                recovery_id=recovery.id,
                order=order,
                created_at_provider=recovery.created_at[:40],
                is_active=recovery.is_active,
                synced_at=now,
            )
            for recovery in recoveries
        ],
        update_conflicts=True,
        unique_fields=["recovery_id"],
        update_fields=["order", "created_at_provider", "is_active", "synced_at"],
    )
    return dict(order.recoveries.values_list("recovery_id", "pk"))
