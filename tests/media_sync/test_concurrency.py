"""Two workers on one job at the same time, each with its own database connection: every photo is sent
exactly once. Needs real concurrent transactions, so it runs on PostgreSQL (CI's second pass)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults
from media_sync.models import ItemStatus, JobStatus, TransferJob
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from tests.media_sync.factories import order_on_both_sides

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent transactions (PostgreSQL)"
    ),
]


def test_two_workers_share_a_job_and_send_each_photo_once(rc_sim: RecoveryConnectSimulator) -> None:
    photo_ids = list(range(1, 41))
    order = order_on_both_sides(rc_sim, 57076503, 9100001, photo_ids)
    rc_sim.add_order(57076502, 9100002)
    rc_sim.faults = Faults(latency_s=0.01)  # long enough for the two workers to interleave
    job = rc_transfer_photos_start(
        photos=list(order.photos.all()), destinations=[9100002], triggered_by="ann", enqueue=False
    )
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            job_run(job_id=job.pk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    sent = [transfer.photo_id for transfer in rc_sim.transfers]
    assert sorted(sent) == photo_ids  # each once: no photo twice, none missing
    job = TransferJob.objects.get(pk=job.pk)
    assert job.status == JobStatus.SUCCEEDED
    assert set(job.items.values_list("status", "attempts")) == {(ItemStatus.SUCCEEDED, 1)}
