"""RecoveryConnect writes: refresh an order's photos, transfer photos, and the runners the workers use."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import partial
from typing import Any, TypedDict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.errors import FailureClass
from integrations.recoveryconnect.client import RecoveryConnectClient
from integrations.recoveryconnect.schemas import FAIL, TransferOutcome
from media_sync.models import (
    ItemStatus,
    Operation,
    Provider,
    RecoveryConnectOrder,
    RecoveryConnectPhoto,
    TransferItem,
    TransferJob,
)
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim, job_claim_each, job_claim_next
from media_sync.services.items import item_finish, provider_call
from media_sync.services.jobs import job_create
from media_sync.services.providers import provider_transport
from media_sync.services.recoveryconnect_mirror import OrderListing, rc_mirror_order
from media_sync.services.refusals import InputRefused


def rc_order_by_client_id(client_order_id: str) -> RecoveryConnectOrder | None:
    """The mirrored order a destination names (items store the client order id RecoveryConnect transfers
    to); None when none is mirrored. RecoveryConnect lists by internal order id, which only the mirror
    knows."""
    if not client_order_id.isdigit():
        return None
    return RecoveryConnectOrder.objects.filter(client_order_id=int(client_order_id)).first()


def rc_client(*, recorder: ExchangeRecorder) -> RecoveryConnectClient:
    config = settings.RECOVERYCONNECT
    return RecoveryConnectClient(
        base_url=config["BASE_URL"],
        username=config["USERNAME"],
        password=config["PASSWORD"],
        **provider_transport(Provider.RECOVERYCONNECT, recorder=recorder),
    )


def rc_check_destination_count(destinations: list[int]) -> None:
    """The one bound on a transfer's destinations: each one multiplies the job's items."""
    limit = settings.MEDIA_SYNC_MAX_DESTINATIONS
    if len(destinations) > limit:
        raise InputRefused(
            f"{len(destinations)} destination orders given; one transfer takes at most {limit}: split it"
        )


def _check_destinations(orders: Iterable[RecoveryConnectOrder], destinations: list[int]) -> None:
    rc_check_destination_count(destinations)
    for order in orders:
        if order.client_order_id in destinations or order.order_id in destinations:
            raise InputRefused(
                f"destination {order.client_order_id or order.order_id} is the source order itself"
            )


# --- Starting jobs ----------------------------------------------------------------------------------


class SyncPhotosParams(TypedDict):
    """rc_sync_photos needs none: each item is an order id."""


def rc_orders_job_start(
    *, operation: str, params: Mapping[str, Any], order_ids: list[int], triggered_by: str, enqueue: bool
) -> TransferJob:
    """A refresh of each order (its photos, or its documents): one item per order."""
    if not order_ids:
        raise InputRefused("give at least one order id")
    return job_create(
        provider=Provider.RECOVERYCONNECT,
        operation=operation,
        subject=", ".join(f"order {order_id}" for order_id in order_ids),
        triggered_by=triggered_by,
        items=[(str(order_id), "") for order_id in order_ids],
        params=params,
        enqueue=enqueue,
    )


def rc_refresh_start(*, order_ids: list[int], triggered_by: str, enqueue: bool = True) -> TransferJob:
    """List each order's photos (and its recoveries') at RecoveryConnect and mirror them."""
    return rc_orders_job_start(
        operation=Operation.RC_SYNC_PHOTOS,
        params=SyncPhotosParams(),
        order_ids=order_ids,
        triggered_by=triggered_by,
        enqueue=enqueue,
    )


class TransferPhotosParams(TypedDict):
    """rc_transfer_photos: the order each photo comes from (photo id, as the item names it -> order id),
    which the per-photo call names."""

    photos: dict[str, int]


def rc_transfer_photos_start(
    *,
    photos: list[RecoveryConnectPhoto],
    destinations: list[int],
    triggered_by: str,
    enqueue: bool = True,
    leave_out: Collection[tuple[int, int]] = (),
) -> TransferJob:
    """One transfer-specific-photo call per photo; one item per photo and destination, but for the
    (photo id, destination) pairs in `leave_out` (already done, and not to be sent again)."""
    if not photos:
        raise InputRefused("select at least one photo")
    if not destinations:
        raise InputRefused("give at least one destination client order id")
    orders = {photo.order.pk: photo.order for photo in photos}.values()
    _check_destinations(orders, destinations)
    items = [
        (str(photo.photo_id), str(dest))
        for photo in photos
        for dest in destinations
        if (photo.photo_id, dest) not in leave_out
    ]
    if not items:
        raise InputRefused(
            "every photo was already transferred to those orders: nothing left to send (ask to send again)"
        )
    return job_create(
        provider=Provider.RECOVERYCONNECT,
        operation=Operation.RC_TRANSFER_PHOTOS,
        subject=", ".join(f"order {order.order_id}" for order in orders),
        triggered_by=triggered_by,
        params=TransferPhotosParams(photos={str(p.photo_id): p.order.order_id for p in photos}),
        items=items,
        enqueue=enqueue,
    )


class TransferAllParams(TypedDict):
    """rc_transfer_all: the order the call names, and its photos as for rc_transfer_photos (the items
    fall back to per-photo calls when handed back or retried)."""

    order_id: int
    photos: dict[str, int]


def rc_transfer_all_start(
    *,
    order: RecoveryConnectOrder,
    destinations: list[int],
    triggered_by: str,
    enqueue: bool = True,
    leave_out: Collection[tuple[int, int]] = (),
) -> TransferJob:
    """The transfer-all-photos call; one item per photo we know of and destination. With pairs to
    leave out, the call would send them all the same: the photos go one call each instead."""
    if not destinations:
        raise InputRefused("give at least one destination client order id")
    _check_destinations([order], destinations)
    photos = list(order.photos.all())
    if not photos:
        raise InputRefused(f"no photos are known for order {order.order_id}: refresh its photos first")
    if leave_out:
        return rc_transfer_photos_start(
            photos=photos,
            destinations=destinations,
            triggered_by=triggered_by,
            enqueue=enqueue,
            leave_out=leave_out,
        )
    return job_create(
        provider=Provider.RECOVERYCONNECT,
        operation=Operation.RC_TRANSFER_ALL,
        subject=f"order {order.order_id}",
        triggered_by=triggered_by,
        params=TransferAllParams(
            order_id=order.order_id, photos={str(p.photo_id): order.order_id for p in photos}
        ),
        items=[(str(photo.photo_id), str(dest)) for photo in photos for dest in destinations],
        enqueue=enqueue,
    )


# --- Running jobs (called by the worker through services.run) --------------------------------------


def _record_outcomes(
    job: TransferJob, items: list[TransferItem], outcomes: list[TransferOutcome], noun: str = "photo"
) -> None:
    # One answer, one transaction: a worker that dies here leaves all of it to do again, never half.
    # `noun`: what an entry moves (a photo; a document for the document transfer, whose answer is alike).
    with transaction.atomic():
        rc_record_each(job, items, outcomes, noun)


def rc_record_each(
    job: TransferJob, items: list[TransferItem], outcomes: list[TransferOutcome], noun: str = "photo"
) -> None:
    by_key = {(str(o.photo_id), str(o.destination)): o for o in outcomes}
    for item in items:
        outcome = by_key.pop((item.item, item.destination), None)
        if outcome is None:
            item_finish(
                item=item,
                job=job,
                succeeded=False,
                failure_class=FailureClass.PARSE,
                http_status=200,
                message=f"RecoveryConnect's answer left out {noun} {item.item} for order {item.destination}",
            )
            continue
        item_finish(
            item=item,
            job=job,
            succeeded=outcome.succeeded,
            provider_status=outcome.status,
            http_status=200,
            failure_class=FailureClass.PROVIDER_RULE,
            message=""
            if outcome.succeeded
            else (
                f"RecoveryConnect answered fail for this {noun} and destination (it gives no reason)"
                if outcome.status == FAIL
                else f"RecoveryConnect answered status {outcome.status!r}"
            ),
        )
    # A transfer-all can move photos (documents) we had not mirrored yet: each still gets its item and row.
    for (photo_id, destination), outcome in by_key.items():
        extra, _ = TransferItem.objects.get_or_create(
            job=job,
            item=photo_id,
            destination=destination,
            defaults={
                "status": ItemStatus.IN_PROGRESS,
                "attempts": 1,
                "claim_token": items[0].claim_token,
                "claimed_at": timezone.now(),
            },
        )
        if extra.status == ItemStatus.IN_PROGRESS:
            rc_record_each(job, [extra], [outcome], noun)


def rc_run_transfer(job: TransferJob) -> None:
    recorder = ExchangeRecorder(job=job)
    client = rc_client(recorder=recorder)
    params: TransferPhotosParams | TransferAllParams = job.params
    source_of = {photo: int(order) for photo, order in params["photos"].items()}
    whole_order: int | None = None

    if job.operation == Operation.RC_TRANSFER_ALL:
        all_params: TransferAllParams = job.params
        whole_order = all_params["order_id"]
        claimed = job_claim(items=job.items.all())
        # Items handed back unanswered are looked up one by one: the per-photo path does that.
        if claimed and len(claimed) == job.items.count() and not any(i.unconfirmed for i in claimed):
            destinations = sorted({int(i.destination) for i in claimed})
            recorder.about(item="all photos", destination=",".join(map(str, destinations)))
            call = partial(client.transfer_all_photos, order_id=whole_order, transfer_to=destinations)
            outcomes = provider_call(job, claimed, call, can_confirm=True)
            if outcomes is not None:
                _record_outcomes(job, claimed, outcomes)
        else:
            _transfer_per_photo(job, client, recorder, claimed, source_of, whole_order)

    # Per photo: what the job asked for photo by photo, and whatever a retry put back to pending.
    while claimed := job_claim_next(job=job, same_item=True):
        _transfer_per_photo(job, client, recorder, claimed, source_of, whole_order)


def _transfer_per_photo(
    job: TransferJob,
    client: RecoveryConnectClient,
    recorder: ExchangeRecorder,
    claimed: list[TransferItem],
    source_of: dict[str, int],
    whole_order: int | None,
) -> None:
    """`whole_order`: a transfer-all's order, the source of the photos it moved before we mirrored them."""
    by_photo: dict[str, list[TransferItem]] = defaultdict(list)
    for item in claimed:
        by_photo[item.item].append(item)
    for photo_id, claimed_items in by_photo.items():
        items = _not_there_yet(job, client, recorder, photo_id, claimed_items)
        if not items:
            continue
        order_id = source_of.get(photo_id) or whole_order
        if order_id is None:  # never seen: a transfer's params name the order of every photo it asks for
            raise ValueError(f"job {job.pk} does not say which order photo {photo_id} comes from")
        destinations = [int(item.destination) for item in items]
        recorder.about(item=photo_id, destination=",".join(map(str, destinations)))
        call = partial(
            client.transfer_photo, order_id=order_id, photo_id=int(photo_id), transfer_to=destinations
        )
        outcomes = provider_call(job, items, call, can_confirm=True)
        if outcomes is not None:
            _record_outcomes(job, items, outcomes)


def _not_there_yet(
    job: TransferJob,
    client: RecoveryConnectClient,
    recorder: ExchangeRecorder,
    photo_id: str,
    items: list[TransferItem],
) -> list[TransferItem]:
    """Of a photo's claimed items, those to send. An item handed back after an unanswered call is first
    looked for at its destination (by the photo's name, as a copy gets a new id): found, it is recorded
    as done and not sent again. RecoveryConnect lists photos by its internal order id, so a destination
    not mirrored here cannot be looked at: that item ends failed, saying so, rather than risk a copy."""
    to_send = [item for item in items if not item.unconfirmed]
    unconfirmed = [item for item in items if item.unconfirmed]
    if not unconfirmed:
        return to_send
    name = RecoveryConnectPhoto.objects.filter(photo_id=int(photo_id)).values_list("name", flat=True).first()
    for item in unconfirmed:
        destination = rc_order_by_client_id(item.destination)
        if destination is None or name is None:
            item_finish(
                item=item,
                job=job,
                succeeded=False,
                failure_class=item.failure_class or FailureClass.INTERNAL,
                message=f"{item.message.split(':')[0]}; it may have been transferred, and order "
                f"{item.destination} cannot be checked from here: look at it in RecoveryConnect before "
                "retrying",
            )
            continue
        recorder.about(item=photo_id, destination=item.destination)
        photos = provider_call(job, [item], partial(client.list_photos, order_id=destination.order_id))
        if photos is None:
            continue  # the look-up failed: provider_call ended the item with its reason
        if any(photo.name == name for photo in photos):
            item_finish(
                item=item,
                job=job,
                succeeded=True,
                provider_status="success",
                http_status=200,
                message=f"found in order {item.destination} after an unanswered call: not sent again",
            )
        else:
            to_send.append(item)
    return to_send


def _run_sync(job: TransferJob) -> None:
    """Each order's photos, its recoveries and each recovery's photos, then the mirror of all of them."""
    recorder = ExchangeRecorder(job=job)
    client = rc_client(recorder=recorder)
    for item in job_claim_each(job=job):
        recorder.about(item=item.item)
        order_id = int(item.item)
        photos = provider_call(job, [item], partial(client.list_photos, order_id=order_id))
        if photos is None:
            continue
        recoveries = provider_call(job, [item], partial(client.list_recoveries, order_id=order_id))
        if recoveries is None:
            continue
        listing = OrderListing(photos=photos, recoveries=recoveries)
        for recovery in recoveries:
            listed = provider_call(
                job,
                [item],
                partial(client.list_recovery_photos, order_id=order_id, recovery_id=recovery.id),
            )
            if listed is None:
                break
            listing.recovery_photos[recovery.id] = listed
        else:
            rc_mirror_order(job, item, listing)


RUNNERS: dict[str, Callable[[TransferJob], None]] = {
    Operation.RC_SYNC_PHOTOS: _run_sync,
    # Per-photo transfers: recoveryconnect_batch.py, which calls rc_run_transfer for what it leaves.
    Operation.RC_TRANSFER_ALL: rc_run_transfer,
}
