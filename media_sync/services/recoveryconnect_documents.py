"""RecoveryConnect documents: refresh an order's documents, transfer them, and the runners the workers use.

RecoveryConnect has one document transfer call and it moves every document of the order to every order in
`transfer_to`: a transfer cannot leave a document out, only a destination. Download links are never kept."""

from __future__ import annotations

import time
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TypedDict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.errors import FailureClass
from integrations.recoveryconnect.client import RecoveryConnectClient
from integrations.recoveryconnect.schemas import Document
from media_sync.models import (
    ItemStatus,
    Operation,
    Provider,
    RecoveryConnectDocument,
    RecoveryConnectOrder,
    TransferItem,
    TransferJob,
)
from media_sync.selectors import DoneBefore
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import CLAIM_POLL_S, job_claim, job_claim_each, job_run_past_deadline
from media_sync.services.items import item_finish, provider_call
from media_sync.services.jobs import job_create
from media_sync.services.recoveryconnect import (
    _record_outcomes,
    rc_check_destination_count,
    rc_client,
    rc_order_by_client_id,
    rc_orders_job_start,
)
from media_sync.services.refusals import InputRefused

# --- Starting jobs ----------------------------------------------------------------------------------


class SyncDocumentsParams(TypedDict):
    """rc_sync_documents needs none: each item is an order id."""


def rc_documents_refresh_start(
    *, order_ids: list[int], triggered_by: str, enqueue: bool = True
) -> TransferJob:
    """List each order's documents at RecoveryConnect and mirror them (one item per order)."""
    return rc_orders_job_start(
        operation=Operation.RC_SYNC_DOCUMENTS,
        params=SyncDocumentsParams(),
        order_ids=order_ids,
        triggered_by=triggered_by,
        enqueue=enqueue,
    )


class TransferDocumentsParams(TypedDict):
    """rc_transfer_documents: the order the call names, and the name of each document it knew of (document
    id -> name), by which an unanswered transfer is looked for at its destination."""

    order_id: int
    documents: dict[str, str]


def rc_document_transfers_done(
    *, document_ids: list[int], destinations: list[int]
) -> dict[tuple[int, int], DoneBefore]:
    """Of these documents and destination client orders, each pair already transferred successfully, with
    its latest transfer (one query)."""
    items = (
        TransferItem.objects.filter(
            job__provider=Provider.RECOVERYCONNECT,
            job__operation=Operation.RC_TRANSFER_DOCUMENTS,
            status=ItemStatus.SUCCEEDED,
            item__in=[str(document_id) for document_id in document_ids],
            destination__in=[str(destination) for destination in destinations],
        )
        .order_by("updated_at")
        .values_list("item", "destination", "updated_at", "job__triggered_by", "job_id")
    )
    return {(int(doc), int(dest)): DoneBefore(at, by, job_id) for doc, dest, at, by, job_id in items}


def rc_transfer_documents_plan(
    *, order: RecoveryConnectOrder, destinations: list[int], again: bool = False
) -> tuple[list[RecoveryConnectDocument], list[int], list[int]]:
    """The documents a transfer moves, the destinations it sends to and those it leaves out because every
    document already reached them. Refused: no documents known, the source among the destinations, too
    many destinations, and (without `again`) a destination that holds some of the documents but not all,
    as the call cannot leave those out, or nothing left to send."""
    if not destinations:
        raise InputRefused("give at least one destination client order id")
    rc_check_destination_count(destinations)
    if order.client_order_id in destinations or order.order_id in destinations:
        raise InputRefused(
            f"destination {order.client_order_id or order.order_id} is the source order itself"
        )
    documents = list(order.documents.all())
    if not documents:
        raise InputRefused(
            f"no documents are known for order {order.order_id}: refresh its documents first "
            f"(rc_sync_documents --order {order.order_id})"
        )
    if again:
        return documents, destinations, []
    done = rc_document_transfers_done(
        document_ids=[document.document_id for document in documents], destinations=destinations
    )
    reached: dict[int, list[RecoveryConnectDocument]] = defaultdict(list)
    for document in documents:
        for dest in destinations:
            if (document.document_id, dest) in done:
                reached[dest].append(document)
    partly = [dest for dest in destinations if 0 < len(reached[dest]) < len(documents)]
    if partly:
        said = "; ".join(
            f"to {dest}: {', '.join(d.name or str(d.document_id) for d in reached[dest])}" for dest in partly
        )
        raise InputRefused(
            f"some documents of order {order.order_id} were already transferred ({said}); the transfer "
            "moves every document of the order and cannot leave those out: send them all again (--again, "
            "or tick 'send again') or leave that order out"
        )
    skipped = [dest for dest in destinations if len(reached[dest]) == len(documents)]
    kept = [dest for dest in destinations if dest not in skipped]
    if not kept:
        raise InputRefused(
            f"every document of order {order.order_id} was already transferred to those orders: nothing "
            "left to send (--again, or tick 'send again', sends them all again)"
        )
    return documents, kept, skipped


def rc_transfer_documents_start(
    *,
    order: RecoveryConnectOrder,
    destinations: list[int],
    triggered_by: str,
    again: bool = False,
    enqueue: bool = True,
) -> TransferJob:
    """The transfer-documents call: one item per document we know of and destination (see
    rc_transfer_documents_plan for what is refused and what is left out)."""
    documents, kept, _ = rc_transfer_documents_plan(order=order, destinations=destinations, again=again)
    return job_create(
        provider=Provider.RECOVERYCONNECT,
        operation=Operation.RC_TRANSFER_DOCUMENTS,
        subject=f"order {order.order_id}",
        triggered_by=triggered_by,
        params=TransferDocumentsParams(
            order_id=order.order_id, documents={str(d.document_id): d.name for d in documents}
        ),
        items=[(str(document.document_id), str(dest)) for document in documents for dest in kept],
        enqueue=enqueue,
    )


# --- Running jobs (called by the worker through services.run) --------------------------------------


def _run_sync(job: TransferJob) -> None:
    recorder = ExchangeRecorder(job=job)
    client = rc_client(recorder=recorder)
    for item in job_claim_each(job=job):
        recorder.about(item=item.item)
        documents = provider_call(job, [item], partial(client.list_documents, order_id=int(item.item)))
        if documents is not None:
            _mirror_documents(job, item, documents)


def _provider_time(value: datetime | None) -> datetime | None:
    """RecoveryConnect's times name no zone: read in RECOVERYCONNECT_TIME_ZONE (an offset given wins)."""
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, zoneinfo.ZoneInfo(settings.RECOVERYCONNECT_TIME_ZONE))


def _mirror_documents(job: TransferJob, item: TransferItem, documents: list[Document]) -> None:
    # As photos: a document no longer listed is deleted from the mirror (its transfers stay in the audit).
    now = timezone.now()
    with transaction.atomic():
        order, _ = RecoveryConnectOrder.objects.get_or_create(order_id=int(item.item))
        known = set(order.documents.values_list("document_id", flat=True))
        listed = {document.id for document in documents}
        order.documents.exclude(document_id__in=listed).delete()
        for document in documents:
            RecoveryConnectDocument.objects.update_or_create(
                document_id=document.id,
                defaults={
                    "order": order,
                    "name": document.name[:255],
                    "uploaded_by": document.uploaded_by[:255],
                    "uploaded_at": _provider_time(document.created_at),
                    "synced_at": now,
                },
            )
        order.documents_synced_at = now
        order.save(update_fields=["documents_synced_at"])
        item_finish(
            item=item,
            job=job,
            succeeded=True,
            http_status=200,
            message=f"{len(documents)} documents listed: {len(listed - known)} new, "
            f"{len(known - listed)} removed",
        )


def _claim_all(job: TransferJob) -> list[TransferItem]:
    """Every pending item of the job in one claim (one UPDATE), once none of them is still settling after
    an unanswered call: the call moves every document, so two workers must never split a job's items and
    each send it. Empty when nothing is pending or the run's time is up."""
    while not job_run_past_deadline():
        pending = job.items.filter(status=ItemStatus.PENDING)
        settled = timezone.now() - timedelta(seconds=settings.MEDIA_SYNC_HTTP_TIMEOUT[1])
        if not pending.filter(unconfirmed=True, updated_at__gt=settled).exists():
            return job_claim(items=pending)
        time.sleep(CLAIM_POLL_S)  # a provider still working on the unanswered call has as long again
    return []


def _run_transfer(job: TransferJob) -> None:
    recorder = ExchangeRecorder(job=job)
    client = rc_client(recorder=recorder)
    params: TransferDocumentsParams = job.params
    while claimed := _claim_all(job):
        items = _to_send(job, client, recorder, claimed, params)
        if not items:
            continue
        destinations = sorted({int(item.destination) for item in items})
        recorder.about(item="all documents", destination=",".join(map(str, destinations)))
        call = partial(client.transfer_documents, order_id=params["order_id"], transfer_to=destinations)
        outcomes = provider_call(job, items, call, can_confirm=True)
        if outcomes is not None:
            _record_outcomes(job, items, outcomes, noun="document")


def _fail(job: TransferJob, items: list[TransferItem], message: str) -> None:
    for item in items:
        item_finish(
            item=item,
            job=job,
            succeeded=False,
            failure_class=item.failure_class or FailureClass.INTERNAL,
            message=message,
        )


def _to_send(
    job: TransferJob,
    client: RecoveryConnectClient,
    recorder: ExchangeRecorder,
    claimed: list[TransferItem],
    params: TransferDocumentsParams,
) -> list[TransferItem]:
    """Of the claimed items, those to send, by destination, as the call sends every document to each.

    A destination some of whose documents this job already moved is not sent to again (the documents
    that reached it would be copied twice). A destination with items handed back after an unanswered call
    is first looked at (by the documents' names, as a copy gets a new id): all there, they are recorded
    as done; none there, it is sent to; some, it is not sent to. RecoveryConnect lists documents by its
    internal order id, so a destination not mirrored here cannot be looked at: its items end failed,
    saying so, rather than risk a second copy."""
    by_destination: dict[str, list[TransferItem]] = defaultdict(list)
    for item in claimed:
        by_destination[item.destination].append(item)
    to_send = []
    for destination, items in by_destination.items():
        moved = job.items.filter(destination=destination, status=ItemStatus.SUCCEEDED)
        if moved.exists():
            _fail(
                job,
                items,
                f"other documents of this job already reached order {destination} and the transfer "
                "moves every document of the order, so sending again would copy them twice: start a new "
                "transfer (--again) if that is wanted",
            )
            continue
        if not any(item.unconfirmed for item in items):
            to_send.extend(items)
            continue
        reason = items[0].message.split(":")[0]
        dest_order = rc_order_by_client_id(destination)
        if dest_order is None:
            _fail(
                job,
                items,
                f"{reason}; it may have been transferred, and order {destination} cannot be checked from "
                "here (not mirrored): look at it in RecoveryConnect before retrying",
            )
            continue
        recorder.about(item="all documents", destination=destination)
        listed = provider_call(job, items, partial(client.list_documents, order_id=dest_order.order_id))
        if listed is None:
            continue  # the look-up failed: provider_call ended the items with its reason
        names = {document.name for document in listed}
        found = [item for item in items if params["documents"].get(item.item) in names]
        if len(found) == len(items):
            for item in items:
                item_finish(
                    item=item,
                    job=job,
                    succeeded=True,
                    provider_status="success",
                    http_status=200,
                    message=f"found in order {destination} after an unanswered call: not sent again",
                )
        elif found:
            _fail(
                job,
                items,
                f"{reason}; order {destination} holds some of these documents but not all, and the transfer "
                "moves every one: look at it in RecoveryConnect before sending again",
            )
        else:
            to_send.extend(items)
    return to_send


RUNNERS: dict[str, Callable[[TransferJob], None]] = {
    Operation.RC_SYNC_DOCUMENTS: _run_sync,
    Operation.RC_TRANSFER_DOCUMENTS: _run_transfer,
}
