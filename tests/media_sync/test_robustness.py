"""Nothing stranded, nothing sent twice: errors after a provider answered, long jobs, lost messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import (
    ItemStatus,
    JobStatus,
    RecoveryConnectPhoto,
    TransferItem,
    TransferJob,
    WebhookDelivery,
    WebhookStatus,
)
from media_sync.services.claims import job_claim
from media_sync.services.items import item_finish
from media_sync.services.jobs import jobs_sweep_stale
from media_sync.services.recoveryconnect import rc_refresh_start, rc_transfer_photos_start
from media_sync.services.run import job_run
from media_sync.services.webhooks import webhooks_sweep_received
from tests.media_sync.factories import order_on_both_sides

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(rc_sim: RecoveryConnectSimulator) -> TransferJob:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [1, 2, 3])
    rc_sim.add_order(57076502, 9100002)
    return rc_transfer_photos_start(
        photos=list(order.photos.all()), destinations=[9100002], triggered_by="ann", enqueue=False
    )


def test_an_error_after_the_provider_answered_ends_the_item_instead_of_stranding_it(
    rc_sim: RecoveryConnectSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    rc_sim.add_order(57076600, 9100600, photos=[{"id": 7, "name": "a.jpg"}])
    job = rc_refresh_start(order_ids=[57076600], triggered_by="ann", enqueue=False)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(RecoveryConnectPhoto.objects, "bulk_create", broken)
    job_run(job_id=job.pk)
    item = job.items.get()
    assert (item.status, item.failure_class) == (ItemStatus.FAILED, "internal")
    assert "while recording the result: RuntimeError" in item.message
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_a_long_job_hands_the_rest_to_a_fresh_task_and_sends_each_photo_once(
    job: TransferJob, rc_sim: RecoveryConnectSimulator, settings: Any
) -> None:
    settings.MEDIA_SYNC_RUN_BUDGET = 0  # each run takes one photo, then passes the job on
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert sorted(t.photo_id for t in rc_sim.transfers) == [1, 2, 3]
    assert set(job.items.values_list("attempts", flat=True)) == {1}


def test_the_sweep_gives_up_on_an_item_that_never_finishes(job: TransferJob, settings: Any) -> None:
    claimed = job_claim(items=job.items.filter(item="1"))
    TransferItem.objects.filter(pk=claimed[0].pk).update(
        attempts=settings.MEDIA_SYNC_MAX_CLAIMS, claimed_at=timezone.now() - timedelta(hours=1)
    )
    jobs_sweep_stale()
    item = job.items.get(item="1")
    assert item.status == ItemStatus.FAILED and "given up after" in item.message


def test_an_answer_arriving_after_the_item_was_handed_back_still_counts(job: TransferJob) -> None:
    (claimed,) = job_claim(items=job.items.filter(item="2"))
    TransferItem.objects.filter(pk=claimed.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    jobs_sweep_stale()  # hands it back (pending), and would enqueue it again
    item_finish(item=claimed, job=job, succeeded=True, provider_status="success")
    assert job.items.get(item="2").status == ItemStatus.SUCCEEDED  # so it is not sent a second time


def test_a_stored_webhook_whose_processing_was_lost_is_queued_again(cp_sim: Any) -> None:
    delivery = WebhookDelivery.objects.create(
        provider="corrigopro",
        message_id="m-1",
        event_type="WorkOrderPaused",
        body={"Header": {}},
        received_at=timezone.now() - timedelta(minutes=5),
    )
    assert webhooks_sweep_received() == 1  # tasks run in-process in tests: processed now
    delivery.refresh_from_db()
    assert delivery.status == WebhookStatus.IGNORED
    assert webhooks_sweep_received() == 0
