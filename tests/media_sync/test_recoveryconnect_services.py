"""RecoveryConnect jobs from start to recorded result, against the simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults
from media_sync.models import AuditEvent, AuditKind, ItemStatus, JobStatus, RecoveryConnectOrder, TransferJob
from media_sync.services.ids import parse_ids
from media_sync.services.jobs import job_retry_failed
from media_sync.services.recoveryconnect import (
    rc_refresh_start,
    rc_transfer_all_start,
    rc_transfer_photos_start,
)
from media_sync.services.refusals import InputRefused
from media_sync.services.run import job_run
from tests.media_sync.factories import order_on_both_sides

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(rc_sim: RecoveryConnectSimulator) -> RecoveryConnectOrder:
    order = order_on_both_sides(
        rc_sim, 57076503, 9100001, [180461378, 180461379, 180461380], locked=(180461380,)
    )
    order_on_both_sides(rc_sim, 57076502, 9100002, [])
    order_on_both_sides(rc_sim, 57076510, 9100010, [])
    order_on_both_sides(rc_sim, 57076511, 9100011, [], closed=True)
    return order


def run(job: TransferJob) -> TransferJob:
    job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def item_results(job: TransferJob) -> dict[tuple[str, str], tuple[str, str]]:
    return {(i.item, i.destination): (i.status, i.provider_status) for i in job.items.all()}


def test_transfer_three_photos_to_two_orders_records_six_results(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    photos = list(source.photos.all())
    job = run(rc_transfer_photos_start(photos=photos, destinations=[9100002, 9100010], triggered_by="ann"))
    assert job.status == JobStatus.PARTLY_FAILED
    assert item_results(job) == {
        ("180461378", "9100002"): ("succeeded", "success"),
        ("180461378", "9100010"): ("succeeded", "success"),
        ("180461379", "9100002"): ("succeeded", "success"),
        ("180461379", "9100010"): ("succeeded", "success"),
        ("180461380", "9100002"): ("failed", "fail"),
        ("180461380", "9100010"): ("failed", "fail"),
    }
    item_rows = AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM)
    assert item_rows.count() == 6
    assert set(item_rows.values_list("triggered_by", flat=True)) == {"ann"}
    failed = item_rows.get(item="180461380", destination="9100002")
    assert failed.outcome == "failed" and failed.provider_status == "fail" and "no reason" in failed.message
    # One PUT per photo, each naming both destinations; auth and the PUTs are audited as exchanges.
    puts = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation="transfer_photo")
    assert sorted(puts.values_list("item", "destination")) == [
        ("180461378", "9100002,9100010"),
        ("180461379", "9100002,9100010"),
        ("180461380", "9100002,9100010"),
    ]
    assert len(rc_sim.transfers) == 4


def test_transfer_all_uses_one_call_and_records_each_photo(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    job = run(rc_transfer_all_start(order=source, destinations=[9100002], triggered_by="ann"))
    assert (
        AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation="transfer_all_photos").count() == 1
    )
    assert item_results(job) == {
        ("180461378", "9100002"): ("succeeded", "success"),
        ("180461379", "9100002"): ("succeeded", "success"),
        ("180461380", "9100002"): ("failed", "fail"),
    }


def test_transfer_all_records_photos_the_mirror_did_not_know(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    source.photos.filter(photo_id=180461379).delete()
    job = run(rc_transfer_all_start(order=source, destinations=[9100002], triggered_by="ann"))
    assert ("180461379", "9100002") in item_results(job)
    assert job.items.count() == 3


def test_a_photo_left_out_of_the_answer_is_a_recorded_failure(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    rc_sim.omit_photo_ids = {180461379}
    job = run(rc_transfer_all_start(order=source, destinations=[9100002], triggered_by="ann"))
    left_out = job.items.get(item="180461379")
    assert left_out.status == ItemStatus.FAILED
    assert "left out photo 180461379" in left_out.message
    assert job.status == JobStatus.PARTLY_FAILED


@pytest.mark.parametrize("garbage", ["html", "truncated"])
def test_an_answer_that_is_not_json_fails_the_items_with_the_reason(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator, garbage: str
) -> None:
    run(rc_refresh_start(order_ids=[57076503], triggered_by="ann"))  # logs in: the token is cached
    rc_sim.garbage_next = garbage
    photo = source.photos.get(photo_id=180461378)
    job = run(rc_transfer_photos_start(photos=[photo], destinations=[9100002], triggered_by="ann"))
    item = job.items.get()
    assert (item.status, item.failure_class) == (ItemStatus.FAILED, "parse")
    assert "where JSON was expected" in item.message
    assert job.status == JobStatus.FAILED


def test_transient_errors_are_retried_and_each_attempt_audited(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    photo = source.photos.get(photo_id=180461378)
    rc_sim.faults = Faults(rate_limit_burst=2)
    job = run(rc_transfer_photos_start(photos=[photo], destinations=[9100002], triggered_by="ann"))
    assert job.status == JobStatus.SUCCEEDED
    http_rows = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP).order_by("id")
    # The burst meets the login first: two 429s, then the third attempt logs in, then the PUT.
    assert [(r.operation, r.http_status, r.attempt, r.outcome) for r in http_rows] == [
        ("auth", 429, 1, "failed"),
        ("auth", 429, 2, "failed"),
        ("auth", 200, 3, "succeeded"),
        ("transfer_photo", 200, 1, "succeeded"),
    ]
    assert http_rows[0].failure_class == "rate_limited"


def test_provider_down_fails_every_item_with_the_reason(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    rc_sim.faults = Faults(error_rate=1.0)
    job = run(
        rc_transfer_photos_start(photos=list(source.photos.all()), destinations=[9100002], triggered_by="ann")
    )
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert set(job.items.values_list("failure_class", flat=True)) == {"provider_error"}
    assert rc_sim.transfers == []


def test_retry_sends_only_what_failed(source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator) -> None:
    job = run(
        rc_transfer_photos_start(
            photos=list(source.photos.all()), destinations=[9100002, 9100011], triggered_by="ann"
        )
    )
    # 9100011 is closed: every photo fails there; the locked photo fails everywhere.
    assert job.items.filter(status=ItemStatus.FAILED).count() == 4
    rc_sim.orders[57076511].closed = False
    rc_sim.log.clear()
    assert job_retry_failed(job=job) == 4
    job = run(job)
    puts = [entry for entry in rc_sim.log if entry.method == "PUT"]
    assert sorted(entry.path for entry in puts) == [
        "/api/v130/orders/57076503/photos/180461378",
        "/api/v130/orders/57076503/photos/180461379",
        "/api/v130/orders/57076503/photos/180461380",
    ]
    assert job.items.filter(status=ItemStatus.SUCCEEDED).count() == 4
    assert len([t for t in rc_sim.transfers if t.dest_client_order_id == 9100002]) == 2


def test_retry_twice_and_a_second_delivery_send_nothing_again(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    job = run(
        rc_transfer_photos_start(photos=list(source.photos.all()), destinations=[9100002], triggered_by="ann")
    )
    transfers = len(rc_sim.transfers)
    job_run(job_id=job.pk)  # the task delivered again
    assert job_retry_failed(job=job, enqueue=False) == 1
    assert job_retry_failed(job=job, enqueue=False) == 0  # still running: nothing more to put back
    job = run(job)
    job_run(job_id=job.pk)
    succeeded_photos = [t.photo_id for t in rc_sim.transfers]
    assert len(succeeded_photos) == transfers == len(set(succeeded_photos))


def test_refresh_mirrors_photos_and_removes_gone_ones(rc_sim: RecoveryConnectSimulator) -> None:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [1, 2])
    rc_sim.orders[57076503].photos.pop()
    rc_sim.add_order(57076504, 9100004, photos=[{"id": 10, "name": "vin.jpg"}])
    job = run(rc_refresh_start(order_ids=[57076503, 57076504], triggered_by="ann"))
    assert job.status == JobStatus.SUCCEEDED
    assert list(order.photos.values_list("photo_id", flat=True)) == [1]
    assert RecoveryConnectOrder.objects.get(order_id=57076504).photos.get().name == "vin.jpg"
    assert "0 new, 1 removed" in job.items.get(item="57076503").message


def test_refresh_of_an_unknown_order_fails_and_mirrors_nothing(rc_sim: RecoveryConnectSimulator) -> None:
    job = run(rc_refresh_start(order_ids=[424242], triggered_by="ann"))
    item = job.items.get()
    assert (item.status, item.http_status, item.failure_class) == (ItemStatus.FAILED, 404, "not_found")
    assert not RecoveryConnectOrder.objects.filter(order_id=424242).exists()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["abc"], "'abc' is not a client order id"),
        (["-5"], "'-5' is not a client order id"),
        (["0"], "must be a positive number"),
        (["1.5"], "'1.5' is not a client order id"),
        ([], "give at least one client order id"),
        (["99999999999999999999"], "must be a positive number"),
    ],
)
def test_destination_ids_are_refused_clearly(values: list[str], message: str) -> None:
    with pytest.raises(InputRefused, match=message):
        parse_ids(values)


@pytest.mark.parametrize("destination", [9100001, 57076503])
def test_a_destination_equal_to_the_source_is_refused_before_anything_is_written(
    source: RecoveryConnectOrder, destination: int
) -> None:
    with pytest.raises(InputRefused, match="is the source order itself"):
        rc_transfer_photos_start(
            photos=list(source.photos.all()), destinations=[9100002, destination], triggered_by="ann"
        )
    assert not TransferJob.objects.exists()


def test_transfer_all_of_an_order_without_known_photos_is_refused(rc_sim: RecoveryConnectSimulator) -> None:
    order = order_on_both_sides(rc_sim, 57076520, 9100020, [])
    with pytest.raises(InputRefused, match="refresh its photos first"):
        rc_transfer_all_start(order=order, destinations=[9100002], triggered_by="ann")


def test_the_job_is_enqueued_only_after_commit(
    source: RecoveryConnectOrder, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = rc_transfer_photos_start(
            photos=list(source.photos.all())[:1], destinations=[9100002], triggered_by="ann"
        )
    assert len(callbacks) == 1 and job.status == JobStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()  # Q_CLUSTER sync in tests: the task runs here, through the broker API
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.enqueued_at is not None


def test_a_transfer_whose_answer_never_came_is_looked_up_and_not_sent_twice(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator, settings: Any
) -> None:
    run(
        rc_transfer_photos_start(
            photos=[source.photos.get(photo_id=180461379)], destinations=[9100002], triggered_by="ann"
        )
    )
    settings.MEDIA_SYNC_HTTP_TIMEOUT = (2.0, 0.5)
    # RecoveryConnect takes 0.6 s over the next call and does it; we stopped waiting at 0.5 s.
    rc_sim.faults = Faults(hang_burst=1, hang_s=0.6)

    job = run(
        rc_transfer_photos_start(
            photos=[source.photos.get(photo_id=180461378)], destinations=[9100002], triggered_by="ann"
        )
    )

    assert job.status == JobStatus.SUCCEEDED
    assert [t.photo_id for t in rc_sim.transfers].count(180461378) == 1
    item = job.items.get()
    assert item.message == "found in order 9100002 after an unanswered call: not sent again"
    http_rows = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP).order_by("id")
    assert [(r.operation, r.outcome, r.failure_class) for r in http_rows] == [
        ("transfer_photo", "failed", "timeout"),
        ("list_photos", "succeeded", ""),
    ]
