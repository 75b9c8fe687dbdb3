"""The sweep: a worker that died mid-job, or a queue message that was lost, never strands a job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import AuditEvent, AuditKind, ItemStatus, JobStatus, TransferItem, TransferJob
from media_sync.services.jobs import job_claim, jobs_sweep_stale
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from tests.media_sync.factories import order_on_both_sides

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(rc_sim: RecoveryConnectSimulator) -> TransferJob:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [1, 2])
    rc_sim.add_order(57076502, 9100002)
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
