"""Claiming items for a worker, within a run's deadline; a crash of ours ends exactly what it claimed."""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from integrations.errors import FailureClass
from media_sync.models import ItemStatus, TransferItem, TransferJob
from media_sync.services.items import item_finish

logger = logging.getLogger(__name__)


@dataclass
class RunScope:
    """What one run of a job may do and has taken: a deadline for claiming (a task must end well before
    django-q2's timeout) and the claims it holds, so a crash of ours can end exactly those items."""

    deadline: float
    tokens: list[uuid.UUID] = field(default_factory=list)
    # The last claim's transaction, left open so the first request row commits with it (job_claim_commit),
    # and how deep in savepoints it was opened (it is closed only from there).
    claim: transaction.Atomic | None = None
    claim_depth: int = 0


_run_scope: ContextVar[RunScope | None] = ContextVar("media_sync_run_scope", default=None)


# How long a worker waits before looking again when every pending item of its job is out of reach.
CLAIM_POLL_S = 0.1


def job_run_past_deadline() -> bool:
    scope = _run_scope.get()
    return scope is not None and bool(scope.tokens) and time.monotonic() > scope.deadline


def job_claim_commit() -> None:
    """Commit the claim transaction a run left open, if any. The write-ahead hook calls it right after
    the request row, so claim and request row are one commit; the next claim and the end of the run close
    it too. Called from inside a block of the caller's own, it leaves the claim to a later call."""
    scope = _run_scope.get()
    if scope is None or scope.claim is None or len(connection.savepoint_ids) != scope.claim_depth:
        return
    claim, scope.claim = scope.claim, None
    claim.__exit__(None, None, None)


@contextmanager
def _claiming() -> Iterator[RunScope | None]:
    """The transaction a claim is made in. Within a run on PostgreSQL it stays open after the block
    (until job_claim_commit), so the request row that follows the claim costs no commit of its own; a
    worker killed before then leaves its items pending and nothing sent."""
    scope = _run_scope.get()
    job_claim_commit()
    # Left open only where the database locks just the claimed rows (PostgreSQL). SQLite has one write
    # lock for the whole file: held until the first request, it would stall every other writer, and its
    # commit (WAL, synchronous=NORMAL) costs no flush to save. Plain too with no run, or inside a block
    # of the caller's own while a claim is still open.
    if scope is None or scope.claim is not None or not connection.features.has_select_for_update:
        with transaction.atomic():
            yield scope
        return
    claim = transaction.atomic()
    claim.__enter__()
    try:
        yield scope
    except BaseException:
        claim.__exit__(*sys.exc_info())
        raise
    scope.claim, scope.claim_depth = claim, len(connection.savepoint_ids)


def _claim(items: QuerySet[TransferItem], scope: RunScope | None) -> list[TransferItem]:
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


def _claim_taken(taken: list[TransferItem], scope: RunScope | None) -> list[TransferItem]:
    """_claim for rows this transaction has read and locked (FOR UPDATE): all of them are claimed, and
    their new state is known without reading them again. Where they could not be locked, as _claim."""
    token, now = uuid.uuid4(), timezone.now()
    if scope is not None:
        scope.tokens.append(token)
    pks = [row.pk for row in taken]
    claimed = TransferItem.objects.filter(pk__in=pks, status=ItemStatus.PENDING).update(
        status=ItemStatus.IN_PROGRESS, claim_token=token, claimed_at=now, attempts=F("attempts") + 1
    )
    if claimed != len(taken):  # not locked after all: what was claimed, as the database has it
        return list(
            TransferItem.objects.filter(claim_token=token, status=ItemStatus.IN_PROGRESS).order_by("id")
        )
    for row in taken:
        row.status, row.claim_token, row.claimed_at, row.attempts = (
            ItemStatus.IN_PROGRESS,
            token,
            now,
            row.attempts + 1,
        )
    return taken


def job_claim(*, items: QuerySet[TransferItem]) -> list[TransferItem]:
    """Take the pending items of `items` for this worker. A conditional UPDATE, so two workers (or a
    task delivered twice) never get the same item, and an item that already ended is never taken.
    Past the run's deadline nothing more is taken: the run ends and the job is enqueued again."""
    # Past the deadline nothing more is taken, but every run takes something: a run always progresses.
    if job_run_past_deadline():
        return []
    with _claiming() as scope:
        claimed = _claim(items, scope)
    if not claimed:
        job_claim_commit()
    return claimed


def job_claim_next(*, job: TransferJob, same_item: bool = False) -> list[TransferItem]:
    """Claim the job's next pending item (with `same_item`, every pending item for that photo or file,
    all its destinations). Workers sharing a job skip rows another is claiming (SKIP LOCKED where the
    database has it) instead of queueing on the same one. Empty when nothing is left or time is up.

    An item handed back unanswered waits one read timeout before it is looked up at the provider: a
    provider that was still working on it when we gave up has had as long again to finish."""
    while not job_run_past_deadline():
        settled = timezone.now() - timedelta(seconds=settings.MEDIA_SYNC_HTTP_TIMEOUT[1])
        claimed: list[TransferItem] = []
        with _claiming() as scope:
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
                claimed = _claim(items, scope)
        if claimed:
            return claimed
        job_claim_commit()
        if first is None:
            if not job.items.filter(status=ItemStatus.PENDING).exists():
                return []
            time.sleep(CLAIM_POLL_S)  # what is left is settling, or being claimed by another worker
    return []


def job_claim_batch(
    *, job: TransferJob, limit: int, prepare: Callable[[list[TransferItem]], None]
) -> list[TransferItem]:
    """Claim the pending items of up to `limit` photos or files that need no look-up first (not
    unconfirmed): every item of each this worker can lock (all its destinations), and
    call `prepare` with them in the same transaction: the batch's request rows commit with its claim,
    one commit for all. Items handed back unanswered are left to job_claim_next, which lets them settle
    and whose runner looks at the provider first. Empty when nothing is free to take or time is up."""
    if job_run_past_deadline():
        return []
    scope = _run_scope.get()
    job_claim_commit()
    with transaction.atomic():
        pending = job.items.filter(status=ItemStatus.PENDING, unconfirmed=False).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        # `limit` photos (files): a photo has an item per destination, so more rows are read (and locked
        # until the commit) than are taken. Rows are read whole: the claim then needs no read of its own.
        rows = list(pending[: limit * 2])
        photos = list(dict.fromkeys(row.item for row in rows))
        if not photos:
            return []
        taken = [row for row in rows if row.item in photos[:limit]]
        if len(photos) <= limit:  # not seen past the last photo: it may have rows beyond
            pks = [row.pk for row in taken]
            taken += list(pending.filter(item__in=photos[:limit]).exclude(pk__in=pks))
        claimed = _claim_taken(taken, scope)
        if claimed:
            prepare(claimed)
    return claimed


def job_claim_each(*, job: TransferJob) -> Iterator[TransferItem]:
    """The job's pending items one at a time, each claimed just before it is handed out, until none is
    left or the run's time is up (job_run enqueues the rest)."""
    while claimed := job_claim_next(job=job):
        yield from claimed


@contextmanager
def job_run_scope(*, job: TransferJob, budget_s: float) -> Iterator[RunScope]:
    """Run a job's work under a claiming deadline. If the work raises, every item this run claimed and
    did not finish ends as failed with the reason: recorded, never left in progress to be sent again."""
    scope = RunScope(deadline=time.monotonic() + budget_s)
    reset = _run_scope.set(scope)
    try:
        yield scope
        job_claim_commit()
    except Exception as exc:
        job_claim_commit()  # what this run did before the error stays
        logger.exception("job %s: run stopped by an error", job.pk)
        stranded = TransferItem.objects.filter(claim_token__in=scope.tokens, status=ItemStatus.IN_PROGRESS)
        for item in stranded:
            item_finish(
                item=item,
                job=job,
                succeeded=False,
                failure_class=FailureClass.INTERNAL,
                message=f"internal error while recording the result: {type(exc).__name__}",
            )
    finally:
        job_claim_commit()
        _run_scope.reset(reset)
