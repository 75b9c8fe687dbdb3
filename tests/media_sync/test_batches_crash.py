"""A real qcluster making several calls at once (MEDIA_SYNC_CALLS_PER_WORKER), SIGKILLed while a whole
batch is at the provider's door: between the batch's request rows and any of its answers. Every call of
the batch left its request row; the sweep hands each item back, linking its request; after a restart
each photo the provider had carried out is found there and not sent again, the others are sent once.

PostgreSQL only, like test_crash.py: the cluster is a separate process on the test database.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule, Task
from django_q.tasks import async_task

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import DROP, Outcome, SimRequest, SimulatorApp, serve
from media_sync.models import AuditEvent, AuditKind, ItemStatus, JobStatus, RecoveryConnectOrder, TransferJob
from media_sync.services.jobs import job_enqueue
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from tests.media_sync.clusters import cluster_env, running_clusters, wait_until
from tests.media_sync.factories import order_on_both_sides

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="qcluster subprocesses must share the test database: needs PostgreSQL (SQLite's is in memory)",
    ),
]

SOURCE, DESTINATION, DESTINATION_INTERNAL = 57076503, 9100002, 57076502
TRANSFER_PATH = re.compile(rf"/api/v130/orders/{SOURCE}/photos/(\d+)")
CALLS = 4
STALE_AFTER_S = 2


class HoldingDoor(SimulatorApp):
    """Holds every transfer that arrives until `release`: then those of `carried_out` reach the provider
    (it does the work for a client that has gone) and the others are lost on the way."""

    def __init__(self, inner: RecoveryConnectSimulator) -> None:
        super().__init__()
        self.inner = inner
        self.held: list[str] = []
        self.holding = True
        self.carried_out: set[str] = set()
        self._released = threading.Event()

    def dispatch(self, request: SimRequest) -> Outcome:
        match = TRANSFER_PATH.fullmatch(request.path)
        if match and request.method == "PUT" and self.holding:
            with self.inner.lock:
                self.held.append(match.group(1))
            self._released.wait(timeout=60)
            if match.group(1) not in self.carried_out:
                return DROP
        return self.inner.dispatch(request)

    def release(self, carried_out: set[str]) -> None:
        self.carried_out, self.holding = carried_out, False
        self._released.set()


def test_a_cluster_killed_mid_batch_leaves_every_request_row_and_the_sweep_hands_each_item_back(
    rc_sim: RecoveryConnectSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_url = os.environ.get("REDIS_URL")
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", None if redis_url else "default")
    monkeypatch.setattr(Conf, "REDIS", redis_url or {})
    Schedule.objects.all().delete()
    get_broker().purge_queue()
    photos = [str(p) for p in range(1, 21)]
    order = order_on_both_sides(rc_sim, SOURCE, 9100001, [int(p) for p in photos])
    rc_sim.add_order(DESTINATION_INTERNAL, DESTINATION)
    RecoveryConnectOrder.objects.create(order_id=DESTINATION_INTERNAL, client_order_id=DESTINATION)
    job = rc_transfer_photos_start(
        photos=list(order.photos.all()), destinations=[DESTINATION], triggered_by="ann", enqueue=False
    )
    door = HoldingDoor(rc_sim)
    env_extra = {
        "MEDIA_SYNC_CALLS_PER_WORKER": str(CALLS),
        "Q_WORKERS": "1",
        "RECOVERYCONNECT_RATE_LIMIT": "0",
    }

    try:
        with serve(door) as server, running_clusters() as start:
            env = cluster_env(rc_url=server.url, redis_url=redis_url, extra=env_extra)
            first = start(name="first", env=env, log_dir=tmp_path)
            job_enqueue(job_id=job.pk)
            wait_until(
                lambda: len(door.held) == CALLS,
                timeout=40,
                what=f"{CALLS} calls at once to reach the provider",
                clusters=[first],
            )
            time.sleep(0.3)  # long enough for a (wrong) fifth call to arrive too
            first.kill()

            # The batch the kill cut off: every call of it claimed, with its request row and no answer.
            cut_off = set(door.held)
            assert len(cut_off) == CALLS
            in_progress = set(job.items.filter(status=ItemStatus.IN_PROGRESS).values_list("item", flat=True))
            # What the worker had claimed next (its window holds the next calls too) has request rows
            # as well, though never sent: looked up before being sent, like any unanswered claim.
            assert cut_off <= in_progress
            requests = AuditEvent.objects.filter(job=job, kind=AuditKind.REQUEST, method="PUT")
            assert set(requests.values_list("item", flat=True)) == in_progress
            assert not AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, method="PUT").exists()
            assert not job.items.filter(status=ItemStatus.SUCCEEDED).exists()

            carried_out = set(sorted(cut_off, key=int)[: CALLS // 2])
            door.release(carried_out)
            wait_until(
                lambda: {str(t.photo_id) for t in rc_sim.transfers} >= carried_out,
                timeout=10,
                what="the provider to carry out half of the cut-off calls",
            )

            second = start(
                name="second", env={**env, "MEDIA_SYNC_STALE_AFTER": str(STALE_AFTER_S)}, log_dir=tmp_path
            )
            second.wait_running(timeout=30)
            claimed = job.items.filter(status=ItemStatus.IN_PROGRESS).aggregate(at=Max("claimed_at"))["at"]
            assert claimed is not None
            wait_until(
                lambda: timezone.now() > claimed + timedelta(seconds=STALE_AFTER_S + 0.2),
                timeout=STALE_AFTER_S + 5,
                what="the claims to go stale",
            )
            async_task("media_sync.tasks.sweep_stale_jobs", task_name="batch-crash-sweep")
            wait_until(
                lambda: TransferJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED,
                timeout=60,
                what="the job to finish",
                clusters=[second],
                interval=0.1,
            )
            sweep = wait_until(
                lambda: Task.objects.filter(name="batch-crash-sweep").first(),
                timeout=10,
                what="the sweep's result to be saved",
                clusters=[second],
            )
    finally:
        door.release(set())  # never leave a server thread waiting at the door

    assert sweep.success, sweep.result
    assert sweep.result["handed_back"] == len(in_progress), sweep.result
    # Each hand-back links its item's own unanswered request row.
    hand_backs = AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM, outcome="pending")
    assert sorted(hand_backs.values_list("item", flat=True), key=int) == sorted(in_progress, key=int)
    for row in hand_backs:
        request = AuditEvent.objects.get(pk=row.request_id or 0)
        assert (request.kind, request.item, request.method) == (AuditKind.REQUEST, row.item, "PUT")
        assert "after a request went out (PUT " in row.message
    # Nothing lost, nothing sent twice, by the provider's own records.
    assert Counter(str(t.photo_id) for t in rc_sim.transfers) == Counter(photos)
    items = {item.item: item for item in job.items.all()}
    assert {item.status for item in items.values()} == {ItemStatus.SUCCEEDED}
    # What the provider had carried out was found there after the restart, not sent again.
    for photo in carried_out:
        assert "not sent again" in items[photo].message
    assert {p for p, item in items.items() if item.attempts == 2} == in_progress
