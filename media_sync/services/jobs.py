"""Jobs and their items: create, enqueue, claim, finish, retry, sweep. Provider-neutral."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from integrations.http import INTERNAL, ProviderError
from media_sync.models import ANSWER_FIELDS, ItemStatus, JobStatus, Outcome, TransferItem, TransferJob
from media_sync.selectors import job_item_counts
from media_sync.services.audit import audit_record_item

logger = logging.getLogger(__name__)

RUN_JOB_TASK = "media_sync.tasks.run_job"
T = TypeVar("T")
MAX_ID = 2**63 - 1
# Run in the request that asked, never by a worker: a retry is asking again, not this.
ONE_SHOT_OPERATIONS = {"cp_download", "su_follow_batch"}
OPEN_ITEM_STATUSES = (
    ItemStatus.PENDING,
    ItemStatus.IN_PROGRESS,
    ItemStatus.WAITING,
)  # the largest id a BIGINT column holds


class InputRefused(ValueError):
    """The request was refused before any provider call: nothing was sent, nothing was written."""


def parse_ids(values: Iterable[str | int], *, what: str = "client order id") -> list[int]:
    """Order ids as typed by a person: digits only, positive, duplicates dropped, order kept."""
    ids: list[int] = []
    for raw in values:
        text = str(raw).strip()
        if not text.isdigit() or not text.isascii():
            raise InputRefused(f"{text!r} is not a {what}: use digits only")
        value = int(text)
        if not 0 < value <= MAX_ID:
            raise InputRefused(f"{text} is not a {what}: it must be a positive number")
        if value not in ids:
            ids.append(value)
    if not ids:
        raise InputRefused(f"give at least one {what}")
    return ids


def job_create(
    *,
    provider: str,
    operation: str,
    subject: str,
    triggered_by: str,
    items: Iterable[tuple[str, str]],
    params: dict[str, Any] | None = None,
    enqueue: bool = True,
) -> TransferJob:
    """Write the job and all its items in one transaction; the task is enqueued only once they exist."""
    with transaction.atomic():
        job = TransferJob.objects.create(
            provider=provider,
            operation=operation,
            subject=subject[:200],
            triggered_by=triggered_by,
            params=params or {},
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


@dataclass
class RunScope:
    """What one run of a job may do and has taken: a deadline for claiming (a task must end well before
    django-q2's timeout) and the claims it holds, so a crash of ours can end exactly those items."""

    deadline: float
    tokens: list[uuid.UUID] = field(default_factory=list)


_run_scope: ContextVar[RunScope | None] = ContextVar("media_sync_run_scope", default=None)


# How long a worker waits before looking again when every pending item of its job is out of reach.
CLAIM_POLL_S = 0.1


def job_run_past_deadline() -> bool:
    scope = _run_scope.get()
    return scope is not None and bool(scope.tokens) and time.monotonic() > scope.deadline


def job_claim(*, items: QuerySet[TransferItem]) -> list[TransferItem]:
    """Take the pending items of `items` for this worker. A conditional UPDATE, so two workers (or a
    task delivered twice) never get the same item, and an item that already ended is never taken.
    Past the run's deadline nothing more is taken: the run ends and the job is enqueued again."""
    # Past the deadline nothing more is taken, but every run takes something: a run always progresses.
    if job_run_past_deadline():
        return []
    scope = _run_scope.get()
    token = uuid.uuid4()
    if scope is not None:
        scope.tokens.append(token)
    claimed = items.filter(status=ItemStatus.PENDING).update(
        status=ItemStatus.IN_PROGRESS,
        claim_token=token,
        claimed_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return []
    return list(TransferItem.objects.filter(claim_token=token, status=ItemStatus.IN_PROGRESS).order_by("id"))


def job_claim_next(*, job: TransferJob, same_item: bool = False) -> list[TransferItem]:
    """Claim the job's next pending item (with `same_item`, every pending item for that photo or file,
    all its destinations). Workers sharing a job skip rows another is claiming (SKIP LOCKED where the
    database has it) instead of queueing on the same one. Empty when nothing is left or time is up.

    An item handed back unanswered waits one read timeout before it is looked up at the provider: a
    provider that was still working on it when we gave up has had as long again to finish."""
    while not job_run_past_deadline():
        settled = timezone.now() - timedelta(seconds=settings.MEDIA_SYNC_HTTP_TIMEOUT[1])
        with transaction.atomic():
            pending = (
                job.items.filter(status=ItemStatus.PENDING)
                .exclude(unconfirmed=True, updated_at__gt=settled)
                .order_by("id")
            )
            if connection.features.has_select_for_update_skip_locked:
                pending = pending.select_for_update(skip_locked=True)
            first = pending.values_list("pk", "item").first()
            if first is not None:
                items = job.items.filter(pk=first[0])
                if same_item:
                    # Only the rows of that item this worker holds (and that have settled): updating
                    # rows another worker locked through SKIP LOCKED would deadlock with its claim.
                    pks = list(pending.filter(item=first[1]).values_list("pk", flat=True))
                    items = job.items.filter(pk__in=pks)
                claimed = job_claim(items=items)
                if claimed:
                    return claimed
        if first is None:
            if not job.items.filter(status=ItemStatus.PENDING).exists():
                return []
            time.sleep(CLAIM_POLL_S)  # what is left is settling, or being claimed by another worker
    return []


def job_claim_each(*, job: TransferJob) -> Iterator[TransferItem]:
    """The job's pending items one at a time, each claimed just before it is handed out, until none is
    left or the run's time is up (job_run enqueues the rest)."""
    while claimed := job_claim_next(job=job):
        yield from claimed


def provider_call(
    job: TransferJob, items: list[TransferItem], call: Callable[[], T], *, can_look_up: bool = False
) -> T | None:
    """One provider call for claimed items. When it fails, after the client's retries, every item ends
    failed with the reason, and None comes back. With `can_look_up`, a call that may have been carried
    out without its answer reaching us hands its items back instead: the next claim looks first."""
    try:
        return call()
    except ProviderError as error:
        if error.maybe_done and can_look_up:
            for item in items:
                item_hand_back_unconfirmed(item=item, job=job, failure=error)
            return None
        failure = error
        if error.maybe_done:
            failure.message += ": the provider may have carried it out, so look there before retrying"
    except Exception as exc:  # a bug of ours must still end the items, never strand them
        logger.exception("job %s: unexpected error", job.pk, extra={"item_ids": [item.pk for item in items]})
        failure = ProviderError(
            f"internal error: {type(exc).__name__}", failure_class=INTERNAL, transient=False
        )
    for item in items:
        # No answer to the last attempt: whether the provider did it is unknown, and a retry looks first.
        item.unconfirmed = item.unconfirmed or failure.maybe_done
        item_finish(
            item=item,
            job=job,
            succeeded=False,
            http_status=failure.http_status,
            error_code=failure.code,
            failure_class=failure.failure_class,
            message=failure.message,
            reference=failure.reference,
        )
    return None


@contextmanager
def job_run_scope(*, job: TransferJob, budget_s: float) -> Iterator[RunScope]:
    """Run a job's work under a claiming deadline. If the work raises, every item this run claimed and
    did not finish ends as failed with the reason: recorded, never left in progress to be sent again."""
    scope = RunScope(deadline=time.monotonic() + budget_s)
    reset = _run_scope.set(scope)
    try:
        yield scope
    except Exception as exc:
        logger.exception("job %s: run stopped by an error", job.pk)
        stranded = TransferItem.objects.filter(claim_token__in=scope.tokens, status=ItemStatus.IN_PROGRESS)
        for item in stranded:
            item_finish(
                item=item,
                job=job,
                succeeded=False,
                failure_class=INTERNAL,
                message=f"internal error while recording the result: {type(exc).__name__}",
            )
    finally:
        _run_scope.reset(reset)


def item_finish(
    *,
    item: TransferItem,
    job: TransferJob,
    succeeded: bool,
    provider_status: str = "",
    http_status: int | None = None,
    error_code: str = "",
    failure_class: str = "",
    message: str = "",
    reference: str = "",
) -> None:
    """Record an item's result on the item and, in the same transaction, in the audit.

    A failure does not clear an unconfirmed mark: an earlier call may still have been carried out, so
    a retry looks at the provider first, and keeps the reference it was sent with (its MessageId)."""
    item.status = ItemStatus.SUCCEEDED if succeeded else ItemStatus.FAILED
    item.unconfirmed = item.unconfirmed and not succeeded
    item.provider_status = provider_status[:50]
    item.http_status = http_status
    item.error_code = error_code[:50]
    item.failure_class = "" if succeeded else failure_class
    item.message = message
    item.reference = (reference or (item.reference if item.unconfirmed else ""))[:100]
    with transaction.atomic():
        # Only the claim holder writes the result; a late answer after the sweep handed the item back
        # still reaches the audit, marked as such.
        values = {"updated_at": timezone.now(), "status": item.status, "unconfirmed": item.unconfirmed}
        values.update({name: getattr(item, name) for name in ANSWER_FIELDS})
        mine = TransferItem.objects.filter(pk=item.pk, claim_token=item.claim_token)
        # Handed back but not taken again yet: the answer still counts, so it is not sent twice.
        handed_back = TransferItem.objects.filter(pk=item.pk, status=ItemStatus.PENDING)
        if not (mine.update(**values) or handed_back.update(**values)):
            item.message = f"[late result, item had been handed back] {message}"
        audit_record_item(item=item, job=job, outcome=Outcome.SUCCEEDED if succeeded else Outcome.FAILED)


def item_hand_back_unconfirmed(*, item: TransferItem, job: TransferJob, failure: ProviderError) -> None:
    """The call got no answer and may have been carried out: back to pending, marked, so the next claim
    looks at the provider before sending. After MEDIA_SYNC_MAX_ATTEMPTS claims it ends failed instead."""
    if item.attempts >= settings.MEDIA_SYNC_MAX_ATTEMPTS:
        item.unconfirmed = True  # it may have been carried out: a retry looks first
        item_finish(
            item=item,
            job=job,
            succeeded=False,
            failure_class=failure.failure_class,
            http_status=failure.http_status,
            message=f"{failure.message}, {item.attempts} times",
        )
        return
    item.status, item.failure_class = ItemStatus.PENDING, failure.failure_class
    item.message = f"{failure.message}: will look at the provider before sending again"
    with transaction.atomic():
        TransferItem.objects.filter(pk=item.pk, claim_token=item.claim_token).update(
            status=ItemStatus.PENDING,
            unconfirmed=True,
            claim_token=None,
            claimed_at=None,
            message=item.message,
            updated_at=timezone.now(),
        )
        audit_record_item(item=item, job=job, outcome=Outcome.PENDING)


def item_wait(
    *, item: TransferItem, job: TransferJob, message: str, reference: str = "", status: str = ""
) -> None:
    """The provider took the item and will decide later: it leaves the worker's hands (the sweep never
    hands it back) and the audit says so."""
    item.status = ItemStatus.WAITING
    item.message, item.reference, item.provider_status = message, reference[:100], status[:50]
    with transaction.atomic():
        TransferItem.objects.filter(pk=item.pk, claim_token=item.claim_token).update(
            status=item.status,
            message=message,
            reference=item.reference,
            provider_status=item.provider_status,
            updated_at=timezone.now(),
        )
        audit_record_item(item=item, job=job, outcome=Outcome.PENDING)


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


def job_retry_failed(*, job: TransferJob, enqueue: bool = True) -> int:
    """Put a finished job's failed items back to pending; what succeeded is never sent again.
    Pressing retry twice is harmless: the second press finds no failed items of a finished job."""
    with transaction.atomic():
        job = TransferJob.objects.select_for_update().get(pk=job.pk)
        if not job.is_finished or job.operation in ONE_SHOT_OPERATIONS:
            return 0
        count = job.items.filter(status=ItemStatus.FAILED).update(
            status=ItemStatus.PENDING, claim_token=None, claimed_at=None, updated_at=timezone.now()
        )
        if count:
            job_refresh_status(job=job)
            if enqueue:
                transaction.on_commit(partial(job_enqueue, job_id=job.pk, tasks=count))
    return count


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
                failure_class=INTERNAL,
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
                item.message = "handed back to the queue: its worker went quiet"
                audit_record_item(item=item, job=item.job, outcome=Outcome.PENDING)
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
