"""Batched runs (MEDIA_SYNC_CALLS_PER_WORKER above 1): a worker claims several items and writes their
request rows in one transaction, makes the calls from threads, and records the answers together. Every
guarantee of the one-at-a-time path holds: each request row is committed before its call leaves, each
answer links it, a fault fails only its own item, and two runs of one job never claim an item twice.

Transactional: the calling threads have database connections of their own and see committed rows only.
A SIGKILL between a batch's request rows and its answers is in test_batches_crash.py (real qclusters).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Outcome, SimRequest, SimulatorApp, json_response, serve
from media_sync.db import set_audit_locked
from media_sync.models import AuditEvent, AuditKind, ItemStatus, JobStatus, TransferItem, TransferJob
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from tests.media_sync.factories import order_on_both_sides

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE, DESTINATIONS = 57076503, [9100002, 9100004]
CALLS = 4


@pytest.fixture
def batched(settings: Any, transactional_db: None) -> Iterator[None]:
    settings.MEDIA_SYNC_CALLS_PER_WORKER = CALLS
    settings.MEDIA_SYNC_BACKOFF_BASE = settings.MEDIA_SYNC_BACKOFF_MAX = 0.01
    yield
    set_audit_locked(False)  # the audit rows these tests really committed are emptied too


class Door(SimulatorApp):
    """The simulator behind a door that can answer a photo's transfer itself (`answers`: photo id ->
    status and how many times) and notes, for each transfer that reaches it, what the database already
    held: the call's request row and its item's status, read through a connection of its own."""

    def __init__(self, inner: RecoveryConnectSimulator, job: TransferJob) -> None:
        super().__init__()
        self.inner, self.job = inner, job
        self.answers: dict[str, list[int]] = {}
        self.seen: list[tuple[str, int, bool, str]] = []  # photo, attempt, request row there, item status

    def dispatch(self, request: SimRequest) -> Outcome:
        if request.method == "PUT":
            photo = request.path.rsplit("/", 1)[1]
            try:  # the server's thread: its own connection, so only what is committed
                rows = AuditEvent.objects.filter(kind=AuditKind.REQUEST, method="PUT", path=request.path)
                statuses = set(
                    TransferItem.objects.filter(job=self.job, item=photo).values_list("status", flat=True)
                )
                with self.inner.lock:
                    self.seen.append((photo, rows.count(), rows.exists(), ",".join(sorted(statuses))))
            finally:
                connections.close_all()
            planned = self.answers.get(photo)
            if planned and planned[1] > 0:
                planned[1] -= 1
                return json_response(planned[0], {"message": "refused by the test's door"})
        return self.inner.dispatch(request)


def _job(rc_sim: RecoveryConnectSimulator, photos: int) -> TransferJob:
    order = order_on_both_sides(rc_sim, SOURCE, 9100001, list(range(1, photos + 1)))
    for internal, client in zip((57076502, 57076504), DESTINATIONS, strict=True):
        rc_sim.add_order(internal, client)
    return rc_transfer_photos_start(
        photos=list(order.photos.all()), destinations=DESTINATIONS, triggered_by="ann", enqueue=False
    )


def _run_behind(door: Door, settings: Any, runs: int = 1) -> None:
    with serve(door) as server:
        settings.RECOVERYCONNECT = {**settings.RECOVERYCONNECT, "BASE_URL": server.url}
        if runs == 1:
            job_run(job_id=door.job.pk)
            return
        errors: list[BaseException] = []

        def run() -> None:
            try:
                job_run(job_id=door.job.pk)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run) for _ in range(runs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == [] and not any(thread.is_alive() for thread in threads)


def _sent(rc_sim: RecoveryConnectSimulator) -> Counter[tuple[str, str]]:
    with rc_sim.lock:
        return Counter((str(t.photo_id), str(t.dest_client_order_id)) for t in rc_sim.transfers)


def test_a_batched_run_commits_each_request_row_before_its_call_and_links_every_answer(
    batched: None, rc_sim: RecoveryConnectSimulator, settings: Any
) -> None:
    job = _job(rc_sim, 12)
    door = Door(rc_sim, job)

    _run_behind(door, settings)

    assert TransferJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED
    # One call per photo naming both destinations; each (photo, destination) copied once.
    assert _sent(rc_sim) == Counter({(str(p), str(d)): 1 for p in range(1, 13) for d in DESTINATIONS})
    # When each call reached the provider, its request row was committed and its items were claimed.
    assert sorted(door.seen, key=lambda seen: int(seen[0])) == [
        (str(p), 1, True, ItemStatus.IN_PROGRESS) for p in range(1, 13)
    ]
    requests = AuditEvent.objects.filter(job=job, kind=AuditKind.REQUEST, method="PUT")
    answers = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, method="PUT")
    assert requests.count() == answers.count() == 12
    for answer in answers:
        request = requests.get(pk=answer.request_id or 0)
        assert request.pk < answer.pk
        assert (request.path, request.attempt, request.item, request.destination) == (
            answer.path,
            answer.attempt,
            answer.item,
            answer.destination,
        )
        assert (
            request.request_summary == answer.request_summary and '"transfer_to"' in request.request_summary
        )
    assert answers.filter(http_status=200).count() == 12
    # Each item's result is on the item and in the audit, once.
    items = TransferItem.objects.filter(job=job)
    assert set(items.values_list("status", "attempts", "http_status", "provider_status")) == {
        (ItemStatus.SUCCEEDED, 1, 200, "success")
    }
    results = AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM)
    assert sorted(results.values_list("item", "destination", "outcome", "attempt")) == sorted(
        (str(p), str(d), "succeeded", 1) for p in range(1, 13) for d in DESTINATIONS
    )
    # The one login every thread shared.
    assert AuditEvent.objects.filter(kind=AuditKind.REQUEST, operation="auth").count() == 1


def test_a_fault_mid_batch_fails_only_its_item_and_a_retried_call_writes_its_own_request_row(
    batched: None, rc_sim: RecoveryConnectSimulator, settings: Any
) -> None:
    job = _job(rc_sim, 8)
    door = Door(rc_sim, job)
    door.answers = {"3": [422, 1], "6": [503, 1]}  # photo 3 refused for good; photo 6 once, then through

    _run_behind(door, settings)

    items = {(i.item, i.destination): i for i in TransferItem.objects.filter(job=job)}
    failed = {key for key, item in items.items() if item.status == ItemStatus.FAILED}
    assert failed == {("3", str(d)) for d in DESTINATIONS}
    assert all(
        items[key].http_status == 422 and "refused by the test's door" in items[key].message for key in failed
    )
    assert all(item.status == ItemStatus.SUCCEEDED for key, item in items.items() if key not in failed)
    assert TransferJob.objects.get(pk=job.pk).status == JobStatus.PARTLY_FAILED
    assert set(_sent(rc_sim)) == {(str(p), str(d)) for p in range(1, 9) if p != 3 for d in DESTINATIONS}
    # Photo 6: the 503 and the retry, each attempt its own request row, each answered and linked.
    rows = AuditEvent.objects.filter(job=job, item="6", kind__in=(AuditKind.REQUEST, AuditKind.HTTP))
    attempts = list(rows.filter(method="PUT").order_by("id").values_list("attempt", "kind", "http_status"))
    assert attempts == [(1, "request", None), (1, "http", 503), (2, "request", None), (2, "http", 200)]
    for answer in rows.filter(kind=AuditKind.HTTP, method="PUT"):
        assert rows.get(pk=answer.request_id or 0).attempt == answer.attempt
    # The retry's request was committed before it left, like the first attempt's.
    assert [(photo, n) for photo, n, _, _ in door.seen if photo == "6"] == [("6", 1), ("6", 2)]
    # Every request row has its answer: nothing left looking unanswered.
    requests = AuditEvent.objects.filter(job=job, kind=AuditKind.REQUEST)
    answered = set(
        AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP).values_list("request_id", flat=True)
    )
    assert set(requests.values_list("pk", flat=True)) <= answered


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two runs at once need a database server (SQLite's is in memory)",
)
def test_a_task_delivered_twice_claims_nothing_twice(
    batched: None, rc_sim: RecoveryConnectSimulator, settings: Any
) -> None:
    job = _job(rc_sim, 40)
    door = Door(rc_sim, job)

    _run_behind(door, settings, runs=2)

    assert TransferJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED
    assert set(TransferItem.objects.filter(job=job).values_list("status", "attempts")) == {
        (ItemStatus.SUCCEEDED, 1)
    }
    assert _sent(rc_sim) == Counter({(str(p), str(d)): 1 for p in range(1, 41) for d in DESTINATIONS})
    results = AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM)
    assert results.count() == 80 and results.values("item", "destination").distinct().count() == 80


def test_a_second_delivery_after_the_first_finds_nothing_to_claim(
    batched: None, rc_sim: RecoveryConnectSimulator, settings: Any
) -> None:
    job = _job(rc_sim, 6)
    door = Door(rc_sim, job)
    _run_behind(door, settings)
    _run_behind(door, settings)

    assert len(door.seen) == 6
    assert set(TransferItem.objects.filter(job=job).values_list("status", "attempts")) == {
        (ItemStatus.SUCCEEDED, 1)
    }
