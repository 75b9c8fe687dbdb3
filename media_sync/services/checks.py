"""Check at the provider, afterwards: a finished job's succeeded items looked for at their destination.

A check only reads: one list call per destination (through the provider's client, so it is rate limited and
each exchange is audited), then per item the latest result on the item and one audit row of kind "check".
It never changes an item's status or its earlier rows, and never sends anything again. Running it twice, or
again after a crash, is safe: each run overwrites the items' latest result and adds its own rows."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from integrations.errors import ProviderError
from media_sync.models import (
    FINISHED_JOB_STATUSES,
    CheckResult,
    ItemStatus,
    Operation,
    RecoveryConnectOrder,
    RecoveryConnectPhoto,
    TransferItem,
    TransferJob,
)
from media_sync.services.audit import ExchangeRecorder, audit_name_items
from media_sync.services.checks_record import SCHEDULE_USER, CheckSummary, check_record, gone_result
from media_sync.services.checks_suapi import SU_ALSO_CHECKED, check_su_batches
from media_sync.services.corrigopro import cp_client
from media_sync.services.recoveryconnect import rc_client
from media_sync.services.refusals import InputRefused

logger = logging.getLogger(__name__)

# --- RecoveryConnect transfers: the destination order's photos, by name --------------------------------


def _check_rc_transfers(
    job: TransferJob, by_destination: dict[str, list[TransferItem]], triggered_by: str, summary: CheckSummary
) -> None:
    recorder = ExchangeRecorder(job=job)
    client = rc_client(recorder=recorder)
    photo_ids = {int(item.item) for items in by_destination.values() for item in items if item.item.isdigit()}
    names = dict(RecoveryConnectPhoto.objects.filter(photo_id__in=photo_ids).values_list("photo_id", "name"))
    for destination, items in by_destination.items():
        order = (
            RecoveryConnectOrder.objects.filter(client_order_id=int(destination)).first()
            if destination.isdigit()
            else None
        )
        if order is None:
            # RecoveryConnect lists photos by its internal order id, which only our mirror knows.
            for item in items:
                check_record(
                    job=job,
                    item=item,
                    result="",
                    message=f"cannot be checked: order {destination} is not mirrored here (add it and "
                    "refresh its photos, then check again)",
                    triggered_by=triggered_by,
                    summary=summary,
                )
            continue
        recorder.about(item=audit_name_items([i.item for i in items], "photos"), destination=destination)
        try:
            listed = client.list_photos(order_id=order.order_id)
        except ProviderError as error:  # its HTTP rows are in the audit; the items keep their last result
            summary.problems.append(f"order {destination} could not be listed: {error.message}")
            continue
        there = {photo.name for photo in listed}
        for item in items:
            name = names.get(int(item.item)) if item.item.isdigit() else None
            if name is None:
                result, message = "", f"cannot be checked: photo {item.item}'s name is not known here"
            elif name in there:
                result, message = CheckResult.CONFIRMED, f"{name} is in order {destination}"
            else:
                result = gone_result(item)
                gone = "no longer" if result == CheckResult.REMOVED_LATER else "not"
                message = f"{name} is {gone} in order {destination}"
            check_record(
                job=job, item=item, result=result, message=message, triggered_by=triggered_by, summary=summary
            )


# --- CorrigoPro uploads: the work order's attachments, by id ------------------------------------------

# How cp_upload's result names the attachment it added (services/corrigopro_runners.py: _upload_one).
CP_ADDED = re.compile(r"attachment (\S+) added")


def _check_cp_uploads(
    job: TransferJob, by_destination: dict[str, list[TransferItem]], triggered_by: str, summary: CheckSummary
) -> None:
    recorder = ExchangeRecorder(job=job)
    client = cp_client(recorder=recorder)
    for work_order_id, items in by_destination.items():
        if not work_order_id.isdigit():  # every upload names its work order; an old row might not
            for item in items:
                message = "cannot be checked: the upload does not name its work order"
                check_record(
                    job=job, item=item, result="", message=message, triggered_by=triggered_by, summary=summary
                )
            continue
        recorder.about(item=audit_name_items([i.item for i in items], "files"), destination=work_order_id)
        try:
            listed = client.list_attachments(work_order_id=int(work_order_id))
        except ProviderError as error:
            summary.problems.append(f"work order {work_order_id} could not be listed: {error.message}")
            continue
        there = {attachment.id for attachment in listed}
        for item in items:
            added = CP_ADDED.search(item.message)
            if added is None:
                result, message = "", "cannot be checked: the upload's result names no attachment id"
            elif added.group(1) in there:
                result, message = (
                    CheckResult.CONFIRMED,
                    f"attachment {added.group(1)} is on work order {work_order_id}",
                )
            else:
                result = gone_result(item)
                gone = "no longer" if result == CheckResult.REMOVED_LATER else "not"
                message = f"attachment {added.group(1)} is {gone} on work order {work_order_id}"
            check_record(
                job=job, item=item, result=result, message=message, triggered_by=triggered_by, summary=summary
            )


Checker = Callable[[TransferJob, dict[str, list[TransferItem]], str, CheckSummary], None]
CHECKERS: dict[str, Checker] = {
    Operation.RC_TRANSFER_PHOTOS: _check_rc_transfers,
    Operation.RC_TRANSFER_ALL: _check_rc_transfers,
    Operation.CP_UPLOAD: _check_cp_uploads,
    Operation.SU_CREATE_BATCH: check_su_batches,
}
# Items checked beside the succeeded ones, per operation (Booking.com's duplicates and expired ids).
ALSO_CHECKED: dict[str, Q] = {Operation.SU_CREATE_BATCH: SU_ALSO_CHECKED}


def job_can_check(job: TransferJob) -> bool:
    return job.is_finished and job.operation in CHECKERS


def job_check(*, job: TransferJob, triggered_by: str) -> CheckSummary:
    """Look for each succeeded item of a finished job at its destination: one list call per destination."""
    if job.operation not in CHECKERS:
        checkable = ", ".join(sorted(str(Operation(op).label) for op in CHECKERS))
        raise InputRefused(
            f"job {job.pk} ({job.get_operation_display()}) cannot be checked at the provider; "
            f"these can: {checkable}"
        )
    if not job.is_finished:
        raise InputRefused(f"job {job.pk} has not finished: check it at the provider once it has")
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
