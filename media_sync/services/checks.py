"""Check at the provider, afterwards: a finished job's succeeded items looked for at their destination.

A check only reads: one list call per destination (through the provider's client, so it is rate limited and
each exchange is audited), then per item the latest result on the item and one audit row of kind "check".
It never changes an item's status or its earlier rows, and never sends anything again. Running it twice, or
again after a crash, is safe: each run overwrites the items' latest result and adds its own rows."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone
from django_q.tasks import async_task

from integrations.errors import ProviderError
from media_sync.models import (
    FINISHED_JOB_STATUSES,
    CheckResult,
    ItemStatus,
    Operation,
    RecoveryConnectPhoto,
    TransferItem,
    TransferJob,
)
from media_sync.services.audit import ExchangeRecorder, audit_name_items
from media_sync.services.checks_record import SCHEDULE_USER, CheckSummary, check_record, gone_result
from media_sync.services.checks_suapi import SU_ALSO_CHECKED, check_su_batches
from media_sync.services.corrigopro import cp_client
from media_sync.services.recoveryconnect import rc_client, rc_order_by_client_id
from media_sync.services.refusals import InputRefused

logger = logging.getLogger(__name__)
CHECK_TASK = "media_sync.tasks.check_job"

# --- RecoveryConnect and CorrigoPro: per destination, one list call, then each item looked for by name ---


@dataclass(frozen=True)
class Listing:
    """One destination as a checker sees it: where it is (said after "is", "is not", "is no longer"), the
    call that lists what is there and the name each listed entry is known by; or, with no call, why the
    destination cannot be listed."""

    place: str
    call: Callable[[], Iterable[Any]] | None = None
    name: Callable[[Any], str] = str
    cannot: str = ""


@dataclass(frozen=True)
class ListedCheck:
    """How one operation's items are checked: the client, each destination's listing, the name each item
    is looked for by (items missing from the answer cannot be checked, `unnamed` says why)."""

    client: Callable[..., Any]
    noun: str
    listing: Callable[[Any, TransferJob, str], Listing]
    names: Callable[[TransferJob, list[TransferItem]], dict[int, str]]
    unnamed: str

    def __call__(
        self,
        job: TransferJob,
        by_destination: dict[str, list[TransferItem]],
        triggered_by: str,
        summary: CheckSummary,
    ) -> None:
        recorder = ExchangeRecorder(job=job)
        client = self.client(recorder=recorder)
        names = self.names(job, [item for items in by_destination.values() for item in items])
        for destination, items in by_destination.items():
            listing = self.listing(client, job, destination)
            if listing.call is None:
                for item in items:
                    check_record(
                        job=job,
                        item=item,
                        result="",
                        message=f"cannot be checked: {listing.cannot}",
                        triggered_by=triggered_by,
                        summary=summary,
                    )
                continue
            recorder.about(item=audit_name_items([i.item for i in items], self.noun), destination=destination)
            try:
                there = {listing.name(entry) for entry in listing.call()}
            except ProviderError as error:  # its HTTP rows are in the audit; the items keep their last result
                summary.problems.append(f"could not look {listing.place}: {error.message}")
                continue
            for item in items:
                name = names.get(item.pk)
                if name is None:
                    result, message = "", f"cannot be checked: {self.unnamed}"
                elif name in there:
                    result, message = CheckResult.CONFIRMED, f"{name} is {listing.place}"
                else:
                    result = gone_result(item)
                    gone = "no longer" if result == CheckResult.REMOVED_LATER else "not"
                    message = f"{name} is {gone} {listing.place}"
                check_record(
                    job=job,
                    item=item,
                    result=result,
                    message=message,
                    triggered_by=triggered_by,
                    summary=summary,
                )


NOT_MIRRORED = (
    "order {0} is not mirrored here: no order here has client order id {0} (add the order with its "
    "internal and client order ids, or fill in the client id of the one there, then check again)"
)


def _rc_order_photos(client: Any, job: TransferJob, destination: str) -> Listing:
    order = rc_order_by_client_id(destination)
    if order is None:
        return Listing(place="", cannot=NOT_MIRRORED.format(destination))
    return Listing(
        place=f"in order {destination}",
        call=partial(client.list_photos, order_id=order.order_id),
        name=attrgetter("name"),
    )


def _rc_photo_names(job: TransferJob, items: list[TransferItem]) -> dict[int, str]:
    """A transferred photo by its name: the copy at the destination gets a new id."""
    ids = {int(item.item) for item in items if item.item.isdigit()}
    names = dict(RecoveryConnectPhoto.objects.filter(photo_id__in=ids).values_list("photo_id", "name"))
    return {
        item.pk: names[int(item.item)] for item in items if item.item.isdigit() and int(item.item) in names
    }


def _rc_uploaded_photos(client: Any, job: TransferJob, destination: str) -> Listing:
    """An uploaded photo is on the order's list, a recovery's photo or a personal-property one alike."""
    order_id = job.params["order_id"]
    return Listing(
        place=f"on order {order_id} (recovery {destination})",
        call=partial(client.list_photos, order_id=order_id),
        name=lambda photo: f"photo {photo.id}",
    )


def _rc_uploaded_ids(job: TransferJob, items: list[TransferItem]) -> dict[int, str]:
    """The id RecoveryConnect answered the upload with (the item's reference)."""
    return {item.pk: f"photo {item.reference}" for item in items if item.reference.isdigit()}


def _rc_order_documents(client: Any, job: TransferJob, destination: str) -> Listing:
    order = rc_order_by_client_id(destination)
    if order is None:
        return Listing(place="", cannot=NOT_MIRRORED.format(destination))
    return Listing(
        place=f"in order {destination}",
        call=partial(client.list_documents, order_id=order.order_id),
        name=attrgetter("name"),
    )


def _rc_document_names(job: TransferJob, items: list[TransferItem]) -> dict[int, str]:
    """A transferred document by its name, as the job knew it (a copy gets a new id)."""
    documents: dict[str, str] = job.params.get("documents", {})
    return {item.pk: documents[item.item] for item in items if documents.get(item.item)}


def _cp_attachments(client: Any, job: TransferJob, destination: str) -> Listing:
    if not destination.isdigit():  # every CorrigoPro job names its work order; an old row might not
        return Listing(place="", cannot="the job does not name its work order")
    return Listing(
        place=f"on work order {destination}",
        call=partial(client.list_attachments, work_order_id=int(destination)),
        name=lambda attachment: f"attachment {attachment.id}",
    )


# How cp_upload's result names the attachment it added (services/corrigopro_runners.py: _upload_one).
CP_ADDED = re.compile(r"attachment (\S+) added")


def _cp_added_ids(job: TransferJob, items: list[TransferItem]) -> dict[int, str]:
    added = {item.pk: CP_ADDED.search(item.message) for item in items}
    return {pk: f"attachment {found.group(1)}" for pk, found in added.items() if found}


def _cp_renamed_attachments(client: Any, job: TransferJob, destination: str) -> Listing:
    """A change is there while the attachment is, under the name it was given."""
    listing = _cp_attachments(client, job, destination)
    return replace(listing, name=lambda attachment: f"attachment {attachment.id} named {attachment.name!r}")


def _cp_changed_names(job: TransferJob, items: list[TransferItem]) -> dict[int, str]:
    return {item.pk: f"attachment {item.item} named {job.params['name']!r}" for item in items}


_rc_transfers = ListedCheck(
    client=rc_client,
    noun="photos",
    listing=_rc_order_photos,
    names=_rc_photo_names,
    unnamed="the photo's name is not known here",
)


Checker = Callable[[TransferJob, dict[str, list[TransferItem]], str, CheckSummary], None]
CHECKERS: dict[str, Checker] = {
    Operation.RC_TRANSFER_PHOTOS: _rc_transfers,
    Operation.RC_TRANSFER_ALL: _rc_transfers,
    Operation.RC_UPLOAD_PHOTOS: ListedCheck(
        client=rc_client,
        noun="photos",
        listing=_rc_uploaded_photos,
        names=_rc_uploaded_ids,
        unnamed="the upload's result names no photo id",
    ),
    Operation.RC_TRANSFER_DOCUMENTS: ListedCheck(
        client=rc_client,
        noun="documents",
        listing=_rc_order_documents,
        names=_rc_document_names,
        unnamed="the document's name is not known here",
    ),
    Operation.CP_UPLOAD: ListedCheck(
        client=cp_client,
        noun="files",
        listing=_cp_attachments,
        names=_cp_added_ids,
        unnamed="the upload's result names no attachment id",
    ),
    Operation.CP_UPDATE: ListedCheck(
        client=cp_client,
        noun="attachments",
        listing=_cp_renamed_attachments,
        names=_cp_changed_names,
        unnamed="",
    ),
    Operation.SU_CREATE_BATCH: check_su_batches,
}
# Items checked beside the succeeded ones, per operation (Booking.com's duplicates and expired ids).
ALSO_CHECKED: dict[str, Q] = {Operation.SU_CREATE_BATCH: SU_ALSO_CHECKED}


def job_can_check(job: TransferJob) -> bool:
    return job.is_finished and job.operation in CHECKERS


def job_check_refusal(job: TransferJob) -> None:
    """Refuse a job that cannot be checked (yet): not a kind that delivers something listable, or running."""
    if job.operation not in CHECKERS:
        checkable = ", ".join(sorted(str(Operation(op).label) for op in CHECKERS))
        raise InputRefused(
            f"job {job.pk} ({job.get_operation_display()}) cannot be checked at the provider; "
            f"these can: {checkable}"
        )
    if not job.is_finished:
        raise InputRefused(f"job {job.pk} has not finished: check it at the provider once it has")


def job_check_enqueue(*, job: TransferJob, triggered_by: str) -> None:
    """The job page's button: refused now if it must be, checked in a worker (a job of fifty destinations,
    or a provider slow to answer, could outlast the request). Nothing is written until the check runs."""
    job_check_refusal(job)
    async_task(CHECK_TASK, job.pk, triggered_by, task_name=f"check-{job.pk}")


def job_check(*, job: TransferJob, triggered_by: str) -> CheckSummary:
    """Look for each succeeded item of a finished job at its destination: one list call per destination."""
    job_check_refusal(job)
    by_destination: dict[str, list[TransferItem]] = defaultdict(list)
    which = Q(status=ItemStatus.SUCCEEDED) | ALSO_CHECKED.get(job.operation, Q(pk__in=[]))
    for item in job.items.filter(which).order_by("destination", "id").iterator():
        by_destination[item.destination].append(item)
    summary = CheckSummary()
    if by_destination:
        CHECKERS[job.operation](job, by_destination, triggered_by, summary)
    return summary


def jobs_check_due(*, now: datetime | None = None) -> int:
    """The nightly schedule: jobs finished in the last MEDIA_SYNC_CHECK_DAYS days and not checked in the
    last day, most recent first, at most MEDIA_SYNC_CHECK_JOBS_PER_RUN of them. How many were checked."""
    now = now or timezone.now()
    due = (
        TransferJob.objects.filter(
            operation__in=list(CHECKERS),
            status__in=FINISHED_JOB_STATUSES,
            finished_at__gte=now - timedelta(days=settings.MEDIA_SYNC_CHECK_DAYS),
            items__status=ItemStatus.SUCCEEDED,
        )
        .annotate(last_check=Max("items__checked_at"))
        .filter(Q(last_check__isnull=True) | Q(last_check__lt=now - timedelta(days=1)))
        .order_by("-finished_at", "-id")[: settings.MEDIA_SYNC_CHECK_JOBS_PER_RUN]
    )
    checked = 0
    for job in list(due):
        try:
            summary = job_check(job=job, triggered_by=SCHEDULE_USER)
        except Exception:  # one job's bug must not stop the others; the schedule runs again tomorrow
            logger.exception("check of job %s failed", job.pk)
            continue
        logger.info("checked job %s at the provider: %s", job.pk, summary)
        checked += 1
    return checked
