"""The sweep: a worker that died mid-job, or a queue message that was lost, never strands a job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import (
    AuditEvent,
    AuditKind,
    ItemStatus,
    JobStatus,
    RecoveryConnectOrder,
    TransferItem,
    TransferJob,
)
from media_sync.services.claims import job_claim
from media_sync.services.jobs import jobs_sweep_stale
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from tests.media_sync.factories import order_on_both_sides

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(rc_sim: RecoveryConnectSimulator) -> TransferJob:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [1, 2])
    rc_sim.add_order(57076502, 9100002)
    RecoveryConnectOrder.objects.create(order_id=57076502, client_order_id=9100002)  # can be looked at
    return rc_transfer_photos_start(
        photos=list(order.photos.all()), destinations=[9100002], triggered_by="ann", enqueue=False
    )


def test_items_of_a_dead_worker_are_handed_back_and_the_job_finishes(
    job: TransferJob, rc_sim: RecoveryConnectSimulator
) -> None:
    # A worker claimed photo 1 and died before calling the provider.
    claimed = job_claim(items=job.items.filter(item="1"))
    TransferItem.objects.filter(pk=claimed[0].pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    TransferJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, enqueued_at=timezone.now() - timedelta(hours=1)
    )

    result = jobs_sweep_stale()  # tasks run in-process in tests: the re-enqueued job runs now

    assert result == {"handed_back": 1, "requeued": 1}
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert sorted(t.photo_id for t in rc_sim.transfers) == [1, 2]
    handed_back = AuditEvent.objects.get(kind=AuditKind.ITEM, outcome="pending")
    assert handed_back.item == "1" and "worker went quiet" in handed_back.message
    # Before sending photo 1 again the app looked at the destination, and did not find it there.
    assert AuditEvent.objects.filter(kind=AuditKind.HTTP, operation="list_photos", item="1").count() == 1


def _worker_dies_after_photo_1_was_copied(job: TransferJob, rc_sim: RecoveryConnectSimulator) -> None:
    claimed = job_claim(items=job.items.filter(item="1"))
    source = rc_sim.orders[57076503]
    rc_sim._copy(source, next(p for p in source.photos if p.id == 1), 9100002)  # the provider did it
    TransferItem.objects.filter(pk=claimed[0].pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    TransferJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, enqueued_at=timezone.now() - timedelta(hours=1)
    )


def test_a_photo_copied_before_its_worker_died_is_found_at_the_provider_not_sent_again(
    job: TransferJob, rc_sim: RecoveryConnectSimulator
) -> None:
    _worker_dies_after_photo_1_was_copied(job, rc_sim)

    jobs_sweep_stale()

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert sorted(t.photo_id for t in rc_sim.transfers) == [1, 2]  # photo 1 only by the dead worker
    found = job.items.get(item="1")
    assert found.status == ItemStatus.SUCCEEDED and found.attempts == 2
    assert found.message == "found in order 9100002 after an unanswered call: not sent again"


def test_a_destination_that_cannot_be_looked_at_ends_failed_rather_than_risk_a_copy(
    job: TransferJob, rc_sim: RecoveryConnectSimulator
) -> None:
    RecoveryConnectOrder.objects.filter(client_order_id=9100002).delete()
    _worker_dies_after_photo_1_was_copied(job, rc_sim)

    jobs_sweep_stale()

    assert sorted(t.photo_id for t in rc_sim.transfers) == [1, 2]
    unknown = job.items.get(item="1")
    assert unknown.status == ItemStatus.FAILED and unknown.failure_class == "internal"
    assert "order 9100002 cannot be checked from here" in unknown.message


def test_a_fresh_claim_and_a_recently_enqueued_job_are_left_alone(job: TransferJob) -> None:
    job_claim(items=job.items.filter(item="1"))
    TransferJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, enqueued_at=timezone.now())
    assert jobs_sweep_stale() == {"handed_back": 0, "requeued": 0}
    assert job.items.get(item="1").status == ItemStatus.IN_PROGRESS
    assert job.items.get(item="2").status == ItemStatus.PENDING


def test_a_job_whose_items_all_ended_gets_its_final_status(job: TransferJob) -> None:
    job.items.update(status=ItemStatus.SUCCEEDED)
    jobs_sweep_stale()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.finished_at is not None
