"""Reads: audit queries and job summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, TypeVar

from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet
from django.utils import timezone

from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoAttachment,
    CorrigoWorkOrder,
    ItemStatus,
    MediaFile,
    Operation,
    Provider,
    RecoveryConnectOrder,
    RecoveryConnectPhoto,
    SuBatch,
    SuBatchPhoto,
    TransferItem,
    TransferJob,
)


def audit_filter(
    *,
    since: date | None = None,
    until: date | None = None,
    provider: str | None = None,
    outcome: str | None = None,
    queryset: QuerySet[AuditEvent] | None = None,
) -> QuerySet[AuditEvent]:
    """Audit rows in a date range (both days included, in the site's time zone), oldest first."""
    events = AuditEvent.objects.all() if queryset is None else queryset
    if since:
        events = events.filter(timestamp__gte=timezone.make_aware(datetime.combine(since, time.min)))
    if until:
        events = events.filter(timestamp__lte=timezone.make_aware(datetime.combine(until, time.max)))
    if provider:
        events = events.filter(provider=provider)
    if outcome:
        events = events.filter(outcome=outcome)
    return events


# How the audit list can show HTTP exchanges (a request row is written before each call is sent).
EXCHANGE_VIEWS = {
    "paired": "request and answer as one line",
    "unanswered": "requests never answered",
}


def audit_exchanges(events: QuerySet[AuditEvent], *, view: str) -> QuerySet[AuditEvent]:
    """`paired`: a request row that has its answer is left out (the answer row shows it), so each
    exchange is one line. `unanswered`: only the request rows no answer links (a call cut off)."""
    answered = Exists(AuditEvent.objects.filter(kind=AuditKind.HTTP, request=OuterRef("pk")))
    if view == "paired":
        return events.exclude(Q(kind=AuditKind.REQUEST) & answered)
    return events.filter(kind=AuditKind.REQUEST).exclude(answered)


# --- Item counts -------------------------------------------------------------------------------------


class ItemCounts(dict[str, int]):
    """How many of a job's items are in each state (every state present, zero included): what the job
    list, the job and batch pages, their live progress and the job's own status are worked out from."""

    @property
    def done(self) -> int:
        """Items that ended, either way."""
        return self[ItemStatus.SUCCEEDED] + self[ItemStatus.FAILED]

    @property
    def total(self) -> int:
        return sum(self.values())


Counted = TypeVar("Counted", TransferJob, SuBatch)


def with_item_counts(queryset: QuerySet[Counted]) -> QuerySet[Counted]:
    """Jobs, or Booking.com batches (their job's items), annotated with how many items are in each state
    (`items_<state>`), in the same query; `item_counts` reads them."""
    items = "job__items" if queryset.model is SuBatch else "items"
    return queryset.annotate(
        **{
            f"items_{state}": Count(items, filter=Q(**{f"{items}__status": state}))
            for state in ItemStatus.values
        }
    )


def item_counts(counted: TransferJob | SuBatch) -> ItemCounts:
    """The counts `with_item_counts` put on a row."""
    return ItemCounts({state: getattr(counted, f"items_{state}") for state in ItemStatus.values})


def job_item_counts(job: TransferJob) -> ItemCounts:
    """A job's counts as they are now, for a job already in hand (`job_refresh_status`, after every run,
    retry, poll and sweep): one GROUP BY over its items alone, without joining the jobs table."""
    counts = ItemCounts(dict.fromkeys(ItemStatus.values, 0))
    for row in job.items.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def batches_with_item_counts(queryset: QuerySet[SuBatch]) -> QuerySet[SuBatch]:
    """Booking.com batches with their job and property, and their item counts, in one query."""
    return with_item_counts(queryset.select_related("job", "property"))


# The RecoveryConnect operations that move a photo to another order (services/recoveryconnect.py).
RC_TRANSFER_OPERATIONS = (Operation.RC_TRANSFER_PHOTOS, Operation.RC_TRANSFER_ALL)


# --- Pictures ------------------------------------------------------------------------------------------


def job_item_pictures(job: TransferJob, items: list[TransferItem]) -> dict[int, Model]:
    """The photo or attachment each of a page's items is about (item pk -> object), in one query. Jobs
    about orders, work orders or batches as a whole have none."""
    if job.operation in RC_TRANSFER_OPERATIONS:
        ids = [int(item.item) for item in items if item.item.isdigit()]
        photos = {str(p.photo_id): p for p in RecoveryConnectPhoto.objects.filter(photo_id__in=ids)}
        return {item.pk: photos[item.item] for item in items if item.item in photos}
    if job.operation in (Operation.CP_UPDATE, Operation.CP_DELETE, Operation.CP_DOWNLOAD):
        found = CorrigoAttachment.objects.filter(attachment_id__in=[item.item for item in items])
        attachments = {a.attachment_id: a for a in found}
        return {item.pk: attachments[item.item] for item in items if item.item in attachments}
    if job.operation == Operation.SU_CREATE_BATCH:
        sent = SuBatchPhoto.objects.filter(item__in=items, photo__isnull=False).select_related("photo__media")
        return {row.item_id: row.photo for row in sent if row.photo is not None}
    return {}


# --- Timelines --------------------------------------------------------------------------------------

TIMELINE_KINDS = ("order", "workorder", "property", "photo", "document", "attachment")


def audit_timeline(kind: str, key: str, about: list[dict[str, Any]] | None = None) -> QuerySet[AuditEvent]:
    """Every audit row about one record, newest first: its jobs' HTTP exchanges and item results, the
    webhooks and refusals naming it, and the rows of its photos or attachments. Each condition is on a
    (column, -timestamp) index. An unknown kind, or a non-numeric id where one is numeric: ValueError."""
    about = timeline_about(kind, key) if about is None else about  # given: already read
    return AuditEvent.objects.filter(about_q(about)).order_by("-timestamp", "-id")


ITEM_FIELDS = {"subject": "job__subject", "provider": "job__provider"}  # the audit's columns, on an item


def about_q(about: list[dict[str, Any]], fields: dict[str, str] | None = None) -> Q:
    """Any of the conditions, on the audit's columns (or as `fields` renames them: ITEM_FIELDS)."""
    found, names = Q(pk__in=[]), fields or {}
    for conditions in about:
        split = [(*name.partition("__")[::2], value) for name, value in conditions.items()]
        found |= Q(**{"__".join(filter(None, (names.get(c, c), lookup))): v for c, lookup, v in split})
    return found


def timeline_about(kind: str, key: str) -> list[dict[str, Any]]:
    """The conditions on audit columns, any of which makes a row about one record (its lookups done)."""
    rc, cp = Provider.RECOVERYCONNECT, Provider.CORRIGOPRO
    if kind in ("order", "workorder", "photo", "document"):
        if not (key.isascii() and key.isdigit() and len(key) <= 18):
            raise ValueError(f"{key!r} is not a {kind} id")
        key = str(int(key))
    about: list[dict[str, Any]]
    if kind == "order":
        order = RecoveryConnectOrder.objects.filter(order_id=int(key)).first()
        about = [{"subject": f"order {key}"}, {"provider": rc, "item": key}]  # a refresh's item is the order
        if order is not None:
            # Its photos' and documents' ids, in one query.
            photo_ids = order.photos.order_by().values_list("photo_id", flat=True)
            document_ids = order.documents.order_by().values_list("document_id", flat=True)
            items = [str(item_id) for item_id in photo_ids.union(document_ids, all=True)]
            about.append({"provider": rc, "item__in": items})
            if order.client_order_id:  # transfers into it
                about.append({"provider": rc, "destination": str(order.client_order_id)})
    elif kind == "workorder":
        work_order = CorrigoWorkOrder.objects.filter(work_order_id=int(key)).first()
        about = [
            {"subject": f"work order {key}"},
            {"provider": cp, "item": key},
            {"provider": cp, "destination": key},
        ]
        if work_order is not None:
            attachments = list(work_order.attachments.values_list("attachment_id", flat=True))
            about.append({"provider": cp, "item__in": attachments})
    elif kind == "property":
        about = [{"subject": f"property {key}"}, {"provider": Provider.SUAPI, "destination": key}]
    elif kind in ("photo", "document"):
        about = [{"provider": rc, "item": key}]
    elif kind == "attachment":
        about = [{"provider": cp, "item": key}]
    else:
        raise ValueError(f"no timeline for {kind!r}")
    return about


# --- Live progress -------------------------------------------------------------------------------------


def job_items_changed(job: TransferJob, *, since: datetime | None, limit: int) -> list[TransferItem]:
    """The job's items changed at or after `since` (all without it), oldest change first, at most `limit`."""
    items = job.items.order_by("updated_at", "id")
    if since is not None:
        items = items.filter(updated_at__gte=since)
    return list(items[:limit])


# --- Pre-flight against our own history --------------------------------------------------------------


@dataclass(frozen=True)
class DoneBefore:
    """A piece of work this app already did: when, by whom, in which job."""

    at: datetime
    by: str
    job_id: int

    def __str__(self) -> str:
        return f"on {timezone.localtime(self.at):%Y-%m-%d %H:%M} by {self.by} (job {self.job_id})"


def rc_transfers_done(*, photo_ids: list[int], destinations: list[int]) -> dict[tuple[int, int], DoneBefore]:
    """Of these photos and destination client orders, each pair already transferred successfully, with
    its latest transfer (one query)."""
    items = (
        TransferItem.objects.filter(
            job__provider=Provider.RECOVERYCONNECT,
            job__operation__in=RC_TRANSFER_OPERATIONS,
            status=ItemStatus.SUCCEEDED,
            item__in=[str(photo_id) for photo_id in photo_ids],
            destination__in=[str(destination) for destination in destinations],
        )
        .order_by("updated_at")
        .values_list("item", "destination", "updated_at", "job__triggered_by", "job_id")
    )
    return {
        (int(photo), int(destination)): DoneBefore(at, by, job_id)
        for photo, destination, at, by, job_id in items
    }


def cp_uploads_of_file(*, work_order_id: int, sha256: str) -> list[DoneBefore]:
    """Our successful uploads of a file with these bytes to this CorrigoPro work order, while an
    attachment of that name is still there (oldest first)."""
    same_bytes = list(MediaFile.objects.filter(sha256=sha256).values_list("pk", flat=True))
    if not same_bytes:
        return []
    live = CorrigoAttachment.objects.filter(
        work_order__work_order_id=work_order_id, removed_at__isnull=True
    ).values_list("name", flat=True)
    items = (
        TransferItem.objects.filter(
            job__provider=Provider.CORRIGOPRO,
            job__operation=Operation.CP_UPLOAD,
            job__params__work_order_id=work_order_id,
            job__params__media_file_id__in=same_bytes,
            status=ItemStatus.SUCCEEDED,
            item__in=live,
        )
        .order_by("updated_at")
        .values_list("updated_at", "job__triggered_by", "job_id")
    )
    return [DoneBefore(at, by, job_id) for at, by, job_id in items]
