"""Batched runs: one worker making MEDIA_SYNC_CALLS_PER_WORKER provider calls at once from threads, with
claims, request rows and results written a batch at a time.

The cycle: one transaction claims up to as many items as there are free threads and writes each call's
request row (its first attempt, as the client will describe it), then commits: every request row is on
record before its call can leave. The threads only do HTTP (each with its own client and session; a
retry or a login inside the client writes its own request row, as always, from the thread's own database
connection, as the provider's shared pace and concurrency cap do). As calls end, their answer rows, the
items' results and the items' audit rows are written together in one transaction, set-based where the
results are alike (plain successes), item by item otherwise (items.py's policy, unchanged). Threads are
kept busy: the next claim is made while the calls before it are still at the provider.

A worker killed anywhere in the cycle leaves what a one-call-at-a-time worker leaves: items in progress
with their request rows (answered or not) for the sweep to hand back, marked unconfirmed, so the next
claim looks at the provider before sending again.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connection, connections, transaction

from integrations.http import OutgoingRequest
from media_sync.models import ItemStatus, TransferItem, TransferJob
from media_sync.services.audit import ExchangeRecorder, audit_request_row, audit_rows_insert
from media_sync.services.claims import CLAIM_POLL_S, job_claim_batch, job_run_past_deadline
from media_sync.services.items import items_finish_succeeded, provider_call

C = TypeVar("C")  # a provider client
# Once a call has ended, how long to wait for others about to end, so they are recorded together.
GATHER_S = 0.01


@dataclass
class BatchCall(Generic[C]):
    """One provider call of a batch: the items it is about, what the audit names it by, its first attempt
    as the client will describe it (`request`), and how to make it with a thread's client."""

    items: list[TransferItem]
    item: str
    destination: str
    request: OutgoingRequest
    send: Callable[[C], Any]
    row: Any = None  # the request row, once written
    result: Any = None
    error: BaseException | None = None
    answers: list[Any] = field(default_factory=list)


def batch_calls_per_worker() -> int:
    """How many calls this run makes at once. 1 (one at a time, the plain path) inside a transaction of
    the caller's, whose rows the threads' own connections could not see, and on SQLite: one write lock
    for the whole file, which the threads' retries and the batch's records would only queue on."""
    if connection.in_atomic_block or not connection.features.has_select_for_update_skip_locked:
        return 1
    return max(1, settings.MEDIA_SYNC_CALLS_PER_WORKER)


class CallPool(Generic[C]):
    """`size` threads, each with its own client (so its own HTTP session) and recorder, making the calls
    handed to them; each closes its database connection when the pool closes."""

    def __init__(self, size: int, job: TransferJob, make_client: Callable[[ExchangeRecorder], C]) -> None:
        self._calls: queue.SimpleQueue[BatchCall[C] | None] = queue.SimpleQueue()
        self.ended: queue.SimpleQueue[BatchCall[C]] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, args=(job, make_client), daemon=True) for _ in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self, job: TransferJob, make_client: Callable[[ExchangeRecorder], C]) -> None:
        recorder = ExchangeRecorder(job=job, deferred=True)
        client = make_client(recorder)
        try:
            while (call := self._calls.get()) is not None:
                recorder.about(item=call.item, destination=call.destination)
                recorder.expect(call.request, call.row)
                try:
                    call.result = call.send(client)
                except BaseException as exc:  # the policy is applied where the result is recorded
                    call.error = exc
                call.answers, recorder.answers = recorder.answers, []
                self.ended.put(call)
        finally:
            connections.close_all()  # this thread's own, if a retry, login or the pace opened one

    def submit(self, call: BatchCall[C]) -> None:
        self._calls.put(call)

    def take(self, *, wait: bool, gather: int = 1) -> list[BatchCall[C]]:
        """The calls that have ended; with `wait`, at least one, and up to `gather` of those ending
        within GATHER_S of it (recorded together: one transaction for several)."""
        ended = []
        if wait:
            ended.append(self.ended.get())
            until = time.monotonic() + GATHER_S
            while len(ended) < gather and (left := until - time.monotonic()) > 0:
                try:
                    ended.append(self.ended.get(timeout=left))
                except queue.Empty:
                    break
        while True:
            try:
                ended.append(self.ended.get_nowait())
            except queue.Empty:
                return ended

    def close(self) -> None:
        for _ in self._threads:
            self._calls.put(None)
        for thread in self._threads:
            thread.join()


# What a runner says about a call's answer: the items that plainly succeeded, with the provider's status,
# after recording anything else itself (item by item).
Record = Callable[[TransferJob, BatchCall[Any]], list[tuple[TransferItem, str]]]


def job_run_batched(
    *,
    job: TransferJob,
    threads: int,
    make_client: Callable[[ExchangeRecorder], C],
    plan: Callable[[C, list[TransferItem]], Sequence[BatchCall[C]]],
    record: Record,
) -> None:
    """Work through the job's items that need no look-up, `threads` calls at once, until none is free
    to take or the run's time is up; whatever is left (items handed back unconfirmed) is the runner's to
    take one at a time afterwards. `plan` turns claimed items into calls (with the main thread's client,
    which only describes them); `record` records one ended call's answer."""
    planner = make_client(ExchangeRecorder(job=job))
    pool = CallPool(threads, job, make_client)
    # Calls claimed and not yet recorded: the threads' work and the next batch, claimed while the calls
    # before it are still out, so no thread waits on the database between two calls.
    window, outstanding, claiming = 2 * threads, 0, True
    try:
        while True:
            if claiming and outstanding <= threads:
                calls = _claim_and_write_ahead(job, window - outstanding, planner, plan)
                for call in calls:
                    pool.submit(call)
                outstanding += len(calls)
                if not calls:
                    claiming = _more_to_claim(job)
                    if claiming and not outstanding:
                        time.sleep(CLAIM_POLL_S)  # another worker is claiming what is left
                        continue
            if not outstanding:
                return
            ended = pool.take(
                wait=not claiming or outstanding > threads, gather=min(outstanding, max(2, threads // 4))
            )
            outstanding -= len(ended)
            _record_ended(job, ended, record)
    finally:
        # A bug of ours raised: the calls already out are awaited (and recorded), never abandoned.
        try:
            while outstanding:
                ended = pool.take(wait=True)
                outstanding -= len(ended)
                _record_ended(job, ended, record)
        finally:
            pool.close()


def _claim_and_write_ahead(
    job: TransferJob, limit: int, planner: C, plan: Callable[[C, list[TransferItem]], Sequence[BatchCall[C]]]
) -> list[BatchCall[C]]:
    calls: list[BatchCall[C]] = []

    def prepare(claimed: list[TransferItem]) -> None:
        calls.extend(plan(planner, claimed))
        rows = [
            audit_request_row(job=job, request=call.request, item=call.item, destination=call.destination)
            for call in calls
        ]
        for call, row in zip(calls, audit_rows_insert(rows), strict=True):
            call.row = row

    job_claim_batch(job=job, limit=limit, prepare=prepare)
    return calls


def _more_to_claim(job: TransferJob) -> bool:
    if job_run_past_deadline():
        return False
    return job.items.filter(status=ItemStatus.PENDING, unconfirmed=False).exists()


def _record_ended(job: TransferJob, ended: list[BatchCall[Any]], record: Record) -> None:
    """Answers, results and their audit rows of the calls that ended, in one transaction."""
    with transaction.atomic():
        audit_rows_insert([row for call in ended for row in call.answers])
        succeeded: list[tuple[TransferItem, str]] = []
        for call in ended:
            if call.error is not None:
                provider_call(job, call.items, partial(_raise, call.error), can_confirm=True)
            else:
                succeeded += record(job, call)
        items_finish_succeeded(job=job, succeeded=succeeded, http_status=200)


def _raise(error: BaseException) -> None:
    raise error
