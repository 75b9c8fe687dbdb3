"""Jobs: create, enqueue, start, derive status, retry, sweep. Provider-neutral."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from integrations.errors import FailureClass
from media_sync.models import (
    AuditEvent,
    AuditKind,
    ItemStatus,
    JobStatus,
    Operation,
    Outcome,
    TransferItem,
    TransferJob,
)
from media_sync.selectors import job_item_counts
from media_sync.services.audit import audit_record_item
from media_sync.services.items import item_finish

logger = logging.getLogger(__name__)

RUN_JOB_TASK = "media_sync.tasks.run_job"
# Run in the request that asked, never by a worker: a retry is asking again, not this.
ONE_SHOT_OPERATIONS = {Operation.CP_DOWNLOAD, Operation.SU_FOLLOW_BATCH}
OPEN_ITEM_STATUSES = (
    ItemStatus.PENDING,
    ItemStatus.IN_PROGRESS,
    ItemStatus.WAITING,
)


def job_create(
    *,
    provider: str,
    operation: str,
    subject: str,
    triggered_by: str,
    items: Iterable[tuple[str, str]],
    params: Mapping[str, Any] | None = None,
    enqueue: bool = True,
) -> TransferJob:
    """Write the job and all its items in one transaction; the task is enqueued only once they exist."""
    with transaction.atomic():
        job = TransferJob.objects.create(
            provider=provider,
            operation=operation,
            subject=subject[:200],
            triggered_by=triggered_by,
            params=dict(params or {}),
        )
        created = TransferItem.objects.bulk_create(
            TransferItem(job=job, item=item, destination=destination) for item, destination in items
        )
        if enqueue:
            transaction.on_commit(partial(job_enqueue, job_id=job.pk, tasks=len(created)))
    return job


def job_enqueue(*, job_id: int, tasks: int = 1) -> None:
    """Queue the job's task; a job of several items gets up to MEDIA_SYNC_TASKS_PER_JOB tasks, so that
    many workers share it (claims keep them from ever taking the same item)."""
    TransferJob.objects.filter(pk=job_id).update(enqueued_at=timezone.now())
    for _ in range(max(1, min(tasks, settings.MEDIA_SYNC_TASKS_PER_JOB))):
        async_task(RUN_JOB_TASK, job_id, task_name=f"job-{job_id}")


def job_mark_started(*, job: TransferJob) -> None:
    now = timezone.now()
    if TransferJob.objects.filter(pk=job.pk, started_at__isnull=True).update(started_at=now):
        job.started_at = now
    TransferJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(status=JobStatus.RUNNING)


def job_refresh_status(*, job: TransferJob) -> TransferJob:
    """Derive the job's status from its items, the one place that does."""
    counts = job_item_counts(job)
    open_items = counts[ItemStatus.PENDING] + counts[ItemStatus.IN_PROGRESS] + counts[ItemStatus.WAITING]
    succeeded, failed = counts[ItemStatus.SUCCEEDED], counts[ItemStatus.FAILED]
    if open_items:
        status = JobStatus.RUNNING if (job.started_at or succeeded or failed) else JobStatus.PENDING
    elif failed and succeeded:
        status = JobStatus.PARTLY_FAILED
    elif failed:
        status = JobStatus.FAILED
    else:
        status = JobStatus.SUCCEEDED
    finished_at = None if open_items else (job.finished_at or timezone.now())
    TransferJob.objects.filter(pk=job.pk).update(status=status, finished_at=finished_at)
    job.status, job.finished_at = status, finished_at
    return job


def job_retry_failed(
    *, job: TransferJob, enqueue: bool = True, only: QuerySet[TransferItem] | None = None
) -> int:
    """Put a finished job's failed items (of `only`, when given: a failure group's) back to pending; what
    succeeded is never sent again. Pressing retry twice is harmless: the second press finds no failed
    items of a finished job."""
    with transaction.atomic():
        job = TransferJob.objects.select_for_update().get(pk=job.pk)
        if not job.is_finished or job.operation in ONE_SHOT_OPERATIONS:
            return 0
        items = job.items.all() if only is None else only.filter(job=job)
        count = items.filter(status=ItemStatus.FAILED).update(
            status=ItemStatus.PENDING, claim_token=None, claimed_at=None, updated_at=timezone.now()
        )
        if count:
            job_refresh_status(job=job)
            if enqueue:
                transaction.on_commit(partial(job_enqueue, job_id=job.pk, tasks=count))
    return count


def _unanswered_request(item: TransferItem) -> AuditEvent | None:
    """The last request row since the item was claimed that no answer row links: the call its worker
    sent (or was about to send) when it went quiet. A request names its item, or for a call about the
    whole job (a transfer-all) something that is none of the job's items. Request rows are committed
    before a request leaves, so none found means nothing was sent for this claim."""
    rows = AuditEvent.objects.filter(job=item.job_id, timestamp__gte=item.claimed_at)
    answered = rows.filter(kind=AuditKind.HTTP, request__isnull=False).values("request_id")
    about_it = Q(item=item.item) | ~Q(item__in=TransferItem.objects.filter(job=item.job_id).values("item"))
    return rows.filter(about_it, kind=AuditKind.REQUEST).exclude(pk__in=answered).order_by("-id").first()


def jobs_sweep_stale() -> dict[str, int]:
    """Hand back items a worker claimed and then went quiet on, and re-enqueue jobs whose queue
    message was lost. Safe to run at any time: claims make a second delivery harmless."""
    cutoff = timezone.now() - timedelta(seconds=settings.MEDIA_SYNC_STALE_AFTER)
    handed_back = 0
    stale = TransferItem.objects.filter(status=ItemStatus.IN_PROGRESS, claimed_at__lt=cutoff).select_related(
        "job"
    )
    for item in stale.iterator():
        if item.attempts >= settings.MEDIA_SYNC_MAX_CLAIMS:
            # Taken this often and never answered: stop, and say so, rather than send it forever.
            item_finish(
                item=item,
                job=item.job,
                succeeded=False,
                failure_class=FailureClass.INTERNAL,
                message=f"given up after {item.attempts} attempts that never finished",
            )
            continue
        with transaction.atomic():
            # Its call may have reached the provider: the next claim looks there before sending.
            if TransferItem.objects.filter(pk=item.pk, claim_token=item.claim_token).update(
                status=ItemStatus.PENDING,
                claim_token=None,
                claimed_at=None,
                unconfirmed=True,
                # Its call is long over (it went quiet for STALE_AFTER): it may be looked up at once.
                updated_at=F("claimed_at"),
            ):
                request = _unanswered_request(item)
                item.message = "handed back to the queue: its worker went quiet" + (
                    f" after a request went out ({request.method} {request.path}, no answer recorded)"
                    if request
                    else " before any request for it went out"
                )
                audit_record_item(item=item, job=item.job, outcome=Outcome.PENDING, request=request)
                handed_back += 1
    requeued = 0
    open_jobs = TransferJob.objects.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING))
    # A job run in-process (--sync) and interrupted was never enqueued: it is picked up here too.
    quiet = Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True, created_at__lt=cutoff)
    for job in open_jobs.filter(quiet, items__status=ItemStatus.PENDING).distinct():
        job_enqueue(job_id=job.pk)
        requeued += 1
    for job in open_jobs.exclude(items__status__in=OPEN_ITEM_STATUSES):
        job_refresh_status(job=job)
    if handed_back or requeued:
        logger.warning("sweep: %d items handed back, %d jobs re-enqueued", handed_back, requeued)
    return {"handed_back": handed_back, "requeued": requeued}
