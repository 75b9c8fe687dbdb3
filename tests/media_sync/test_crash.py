"""Real `manage.py qcluster` processes, killed with SIGKILL mid-job or sharing a job: the database is the
source of truth, so after a restart every item ends, none is lost and none is sent twice.

The workers are separate processes on the test database and reach the RecoveryConnect simulator (running
in this pytest process) over loopback; what the simulator recorded is what was really transferred. The
shared database must be a server, so these run on PostgreSQL only (CI's second pass).
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule, Task
from django_q.tasks import async_task

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults, serve
from media_sync.models import AuditEvent, AuditKind, ItemStatus, JobStatus, RecoveryConnectOrder, TransferJob
from media_sync.services.jobs import job_enqueue
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from tests.media_sync.clusters import Arrival, TaggedDoor, cluster_env, running_clusters, wait_until
from tests.media_sync.factories import order_on_both_sides

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="qcluster subprocesses must share the test database: needs PostgreSQL (SQLite's is in memory)",
    ),
]

SOURCE_ORDER, SOURCE_CLIENT = 57076503, 9100001
TRANSFER_PATH = re.compile(rf"/api/v130/orders/{SOURCE_ORDER}/photos/(\d+)")
FINISHED = (JobStatus.SUCCEEDED, JobStatus.PARTLY_FAILED, JobStatus.FAILED)
STALE_AFTER_S = 2


@pytest.fixture(params=["orm", "redis"])
def broker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str | None]:
    """The broker for this test's clusters and for this process's own enqueues: the Redis URL, or None
    for django-q2's ORM broker on the test database. Enqueues go through it for real (not Conf.SYNC)."""
    redis_url = os.environ.get("REDIS_URL") if request.param == "redis" else None
    if request.param == "redis" and not redis_url:
        pytest.skip("the Redis broker needs REDIS_URL")
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", None if redis_url else "default")
    monkeypatch.setattr(Conf, "REDIS", redis_url or {})
    # The sweep (and the other schedules the migrations create) runs when the test says so, not on a
    # one-minute timer that may or may not fire while the test looks: see each test.
    Schedule.objects.all().delete()
    get_broker().purge_queue()
    yield redis_url
    get_broker().purge_queue()


def _counts(job: TransferJob) -> dict[str, int]:
    rows = job.items.values("status").annotate(n=Count("id")).values_list("status", "n")
    return dict(rows)


def _job_finished(job: TransferJob) -> bool:
    return TransferJob.objects.get(pk=job.pk).status in FINISHED


def _sent(sim: RecoveryConnectSimulator) -> Counter[tuple[str, str]]:
    """How many times the simulator really copied each (photo, destination)."""
    with sim.lock:
        return Counter((str(t.photo_id), str(t.dest_client_order_id)) for t in sim.transfers)


def _transfer_requests(sim: RecoveryConnectSimulator) -> Counter[str]:
    """Transfer calls the simulator answered, per photo (whether or not anyone was left to read it)."""
    with sim.lock:
        paths = [entry.path for entry in sim.log if entry.method == "PUT"]
    return Counter(photo for path in paths if (photo := _transfer_photo(path)))


def _transfer_photo(path: str) -> str | None:
    match = TRANSFER_PATH.fullmatch(path)
    return match.group(1) if match else None


@pytest.mark.parametrize(
    "provider_did_it",
    [True, False],
    ids=["provider-did-it", "never-reached-it"],
)
def test_a_cluster_killed_mid_job_loses_nothing_and_sends_nothing_twice_after_a_restart(
    broker: str | None, provider_did_it: bool, rc_sim: RecoveryConnectSimulator, tmp_path: Path
) -> None:
    photo_ids = [str(photo_id) for photo_id in range(1, 31)]
    destinations = ["9100002", "9100004"]
    order = order_on_both_sides(rc_sim, SOURCE_ORDER, SOURCE_CLIENT, [int(p) for p in photo_ids])
    for client_order_id, internal_id in zip(destinations, (57076502, 57076504), strict=True):
        rc_sim.add_order(internal_id, int(client_order_id))
        # Mirrored here (an operator refreshed them), so after the crash the app can look at them.
        RecoveryConnectOrder.objects.create(order_id=internal_id, client_order_id=int(client_order_id))
    rc_sim.faults = Faults(latency_s=0.02)
    # 30 calls, one per photo naming both destinations, taken photo by photo in id order at the app's
    # default provider pace: a few seconds of work.
    job = rc_transfer_photos_start(
        photos=list(order.photos.all()),
        destinations=[int(d) for d in destinations],
        triggered_by="ann",
        enqueue=False,
    )
    expected = {(photo, dest) for photo in photo_ids for dest in destinations}
    assert job.items.count() == len(expected) == 60
    # The kill lands while the call for photo 6 is at the provider's door: photos 1-5 are done, photo 6
    # is claimed and sent, and its answer will never be read.
    door = TaggedDoor(rc_sim, "rc", [], hold=lambda request: _transfer_photo(request.path) == "6")

    try:
        with serve(door) as server, running_clusters() as start:
            env = cluster_env(rc_url=server.url, redis_url=broker)
            first = start(name="first", env=env, log_dir=tmp_path)
            job_enqueue(job_id=job.pk)
            wait_until(
                door.holding.is_set,
                timeout=40,
                what="the call for photo 6 to reach the provider",
                clusters=[first],
                state=lambda: _counts(job),
            )
            first.kill()
            assert not first.alive()

            # The point of the test: the kill left claimed items behind, in progress, never to be
            # finished by the worker that took them.
            stranded = {(i.item, i.destination) for i in job.items.filter(status=ItemStatus.IN_PROGRESS)}
            assert _counts(job) == {"succeeded": 10, "in_progress": 2, "pending": 48}
            assert stranded == {("6", dest) for dest in destinations}
            # Write-ahead: what was on its way to the provider is on record, with no answer.
            cut_off_request = AuditEvent.objects.get(job=job, kind=AuditKind.REQUEST, method="PUT", item="6")
            assert cut_off_request.path == f"/api/v130/orders/{SOURCE_ORDER}/photos/6"
            assert not AuditEvent.objects.filter(request=cut_off_request).exists()
            if provider_did_it:
                # The provider carries out a request whose client has gone: the photo is transferred,
                # and nobody is left to record it.
                door.let_through()
                wait_until(
                    lambda: all(_sent(rc_sim)[key] for key in stranded),
                    timeout=10,
                    what="the provider to carry out the cut-off call",
                )
            else:
                door.lose()
            done_unrecorded = {key for key in stranded if _sent(rc_sim)[key]}

            second = start(
                name="second", env={**env, "MEDIA_SYNC_STALE_AFTER": str(STALE_AFTER_S)}, log_dir=tmp_path
            )
            second.wait_running(timeout=30)
            # With Redis the killed task's message is gone for good; with the ORM broker it stays locked
            # for Q_RETRY (660 s). Either way only the sweep brings the job back. Its schedule fires once
            # a minute, too slow for a test, so the test enqueues the very task the schedule would, once
            # the claims are older than MEDIA_SYNC_STALE_AFTER: the second cluster runs it with that
            # setting.
            claimed = job.items.filter(status=ItemStatus.IN_PROGRESS).aggregate(at=Max("claimed_at"))["at"]
            assert claimed is not None
            wait_until(
                lambda: timezone.now() > claimed + timedelta(seconds=STALE_AFTER_S + 0.2),
                timeout=STALE_AFTER_S + 5,
                what="the claims to go stale",
            )
            async_task("media_sync.tasks.sweep_stale_jobs", task_name="crash-test-sweep")
            wait_until(
                lambda: _job_finished(job),
                timeout=40,
                what="the job to finish",
                clusters=[second],
                state=lambda: _counts(job),
                interval=0.1,
            )
            sweep = wait_until(
                lambda: Task.objects.filter(name="crash-test-sweep").first(),
                timeout=10,
                what="the sweep's result to be saved",
                clusters=[second],
            )
    finally:
        door.lose()  # never leave a server thread waiting at the door

    assert sweep.success, sweep.result
    assert sweep.result["handed_back"] == len(stranded) and sweep.result["requeued"] == 1, sweep.result
    job.refresh_from_db()
    items = list(job.items.all())
    assert job.status == JobStatus.SUCCEEDED, _counts(job)
    assert {i.status for i in items} == {ItemStatus.SUCCEEDED}

    # Nothing lost, by the provider's own records (nothing sent twice: the last check below).
    sent = _sent(rc_sim)
    assert set(sent) == expected, f"missing at the provider: {sorted(expected - set(sent))}"

    # Attempts: one claim each, two for what the kill stranded (claimed, handed back, claimed again).
    attempts = {(i.item, i.destination): i.attempts for i in items}
    assert {key for key, n in attempts.items() if n != 1} == stranded
    assert {attempts[key] for key in stranded} == {2}
    # Every claim of every item is in the audit: the hand-back of the stranded claim, then the result.
    history: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
    for row in AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM).order_by("id"):
        history[(row.item, row.destination)].append((row.attempt, row.outcome, row.message))
    for key, claims in attempts.items():
        rows = history[key]
        assert [attempt for attempt, _, _ in rows] == list(range(1, claims + 1)), (key, rows)
        assert rows[-1][1] == "succeeded", (key, rows)
        assert all(outcome == "pending" and "went quiet" in text for _, outcome, text in rows[:-1]), rows
    # Each hand-back links the request it found unanswered, and says one went out.
    hand_backs = AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM, outcome="pending")
    assert {(row.item, row.request_id) for row in hand_backs} == {("6", cut_off_request.pk)}
    assert all("after a request went out (PUT " in row.message for row in hand_backs)
    # Every PUT that was answered links its request row; the cut-off one is the only request left over.
    answers = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, method="PUT")
    requests = AuditEvent.objects.filter(job=job, kind=AuditKind.REQUEST, method="PUT")
    assert set(requests.values_list("pk", flat=True)) - set(answers.values_list("request_id", flat=True)) == {
        cut_off_request.pk
    }
    # Every transfer call the provider answered to a living worker has its HTTP row; the call the kill
    # cut off has none (nobody was left to write it): the hand-back rows above account for it.
    audited = Counter(
        AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, method="PUT").values_list("item", flat=True)
    )
    answered = _transfer_requests(rc_sim)
    cut_off = {photo for photo, _ in done_unrecorded}
    assert {photo: answered[photo] - audited[photo] for photo in photo_ids} == {
        photo: int(photo in cut_off) for photo in photo_ids
    }
    # Last, so that when it fails every check above has passed. What the provider had done before the
    # kill must be found done there when the item is claimed again, not sent a second time.
    twice = {key: n for key, n in sent.items() if n != 1}
    assert not twice, (
        f"sent more than once: {sorted(twice.items())}; in progress at the kill: {sorted(stranded)}; "
        f"of those, done at the provider before the restart: {sorted(done_unrecorded)}"
    )


def test_two_clusters_share_a_1000_item_job_and_send_each_item_once(
    rc_sim: RecoveryConnectSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both clusters use the ORM broker in the PostgreSQL database that holds the job: one database.
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", "default")
    Schedule.objects.all().delete()
    photo_ids = list(range(1, 1001))
    order = order_on_both_sides(rc_sim, SOURCE_ORDER, SOURCE_CLIENT, photo_ids)
    rc_sim.add_order(57076502, 9100002)
    # 20 ms a call: 500 calls a task outlast a run's 4 s claiming budget, so runs hand the rest on and the
    # other cluster gets its share (at 5 ms a quiet machine finished the job inside one cluster's first runs).
    rc_sim.faults = Faults(latency_s=0.02)
    job = rc_transfer_photos_start(
        photos=list(order.photos.all()), destinations=[9100002], triggered_by="ann", enqueue=False
    )
    assert job.items.count() == 1000
    arrivals: list[Arrival] = []
    limits = {
        "Q_WORKERS": "2",
        # A run claims for Q_TIMEOUT / 2 = 4 s, then hands the rest on to a fresh task that either cluster
        # may take.
        "Q_TIMEOUT": "8",
        "Q_RETRY": "30",
        # No pacing: at the default 5 requests/s, 1,000 calls take 200 s. The concurrency cap stays.
        "RECOVERYCONNECT_RATE_LIMIT": "0",
    }

    with (
        serve(TaggedDoor(rc_sim, "a", arrivals)) as door_a,
        serve(TaggedDoor(rc_sim, "b", arrivals)) as door_b,
        running_clusters() as start,
    ):
        # One simulator behind two doors, one per cluster: the arrivals then say who sent what.
        clusters = [
            start(name=name, env=cluster_env(rc_url=door.url, redis_url=None, extra=limits), log_dir=tmp_path)
            for name, door in (("a", door_a), ("b", door_b))
        ]
        for cluster in clusters:
            cluster.wait_running(timeout=30)
        # More tasks than one cluster can hold (a double-click, or an at-least-once redelivery, does the
        # same): every run claims photo by photo, so they share the job. A cluster takes tasks for its
        # workers (2), its queue (django-q2's queue_limit, workers squared: 4) and one in its pusher's
        # hand: with only 4, the first to ask could take them all and the other send nothing.
        for _ in range(8):
            job_enqueue(job_id=job.pk)
        wait_until(
            lambda: _job_finished(job),
            timeout=120,
            what="the job to finish",
            clusters=clusters,
            state=lambda: _counts(job),
            interval=0.25,  # this process also serves the simulator: leave it the CPU
        )
        for cluster in clusters:
            assert cluster.alive(), cluster.tail()

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, _counts(job)
    assert set(job.items.values_list("status", "attempts")) == {(ItemStatus.SUCCEEDED, 1)}
    assert sorted(t.photo_id for t in rc_sim.transfers) == photo_ids  # each once: none twice, none missing
    item_rows = AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM)
    assert sorted(item_rows.values_list("item", "outcome")) == sorted(
        (str(p), "succeeded") for p in photo_ids
    )
    # Both clusters really transferred photos, not just ran tasks that found nothing left to take.
    by_cluster: dict[str, set[str]] = {"a": set(), "b": set()}
    for arrival in arrivals:
        if photo := _transfer_photo(arrival.path):
            by_cluster[arrival.door].add(photo)
    split = {name: len(photos) for name, photos in by_cluster.items()}
    assert all(split.values()) and sum(split.values()) == 1000, split
