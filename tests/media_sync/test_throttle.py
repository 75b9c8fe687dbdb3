"""Each provider's rate and concurrency cap hold across workers: a burst of jobs does not become a burst
of 429s. The simulator enforces a real rate limit (a token bucket) and counts requests in flight."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from django.db import connection, connections

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults
from media_sync.models import ItemStatus, ProviderLease, ProviderPace, TransferItem
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from media_sync.services.throttle import _lease_acquire, provider_pace_wait, provider_slot
from tests.media_sync.factories import order_on_both_sides


def limits(settings: Any, *, rate: float, cap: int) -> None:
    settings.MEDIA_SYNC_PROVIDER_LIMITS = {
        **settings.MEDIA_SYNC_PROVIDER_LIMITS,
        "recoveryconnect": {"RATE": rate, "CONCURRENCY": cap},
    }


def transfer_job(sim: RecoveryConnectSimulator, order_id: int, photos: int) -> int:
    first = order_id * 100
    order = order_on_both_sides(sim, order_id, order_id + 1, list(range(first, first + photos)))
    sim.add_order(9000 + order_id, 9100 + order_id)
    job = rc_transfer_photos_start(
        photos=list(order.photos.all()), destinations=[9100 + order_id], triggered_by="ann", enqueue=False
    )
    return job.pk


def rate_limited(sim: RecoveryConnectSimulator) -> int:
    return sum(1 for entry in sim.log_dicts() if entry["fault"] == "rate_limit")


@pytest.mark.django_db
def test_reservations_are_spaced_by_the_rate() -> None:
    for _ in range(3):
        provider_pace_wait("suapi", rate=50.0)
    first = ProviderPace.objects.get(provider="suapi").next_at
    waited = provider_pace_wait("suapi", rate=50.0)
    assert ProviderPace.objects.get(provider="suapi").next_at == pytest.approx(first + 0.02)
    assert 0 < waited <= 0.08  # three slots were already taken ahead of this one


@pytest.mark.django_db
@pytest.mark.parametrize(("our_rate", "expect_429"), [(2.0, False), (0.0, True)], ids=["paced", "unpaced"])
def test_a_job_paced_at_the_providers_rate_gets_no_429(
    rc_sim: RecoveryConnectSimulator, settings: Any, our_rate: float, expect_429: bool
) -> None:
    limits(settings, rate=our_rate, cap=0)
    # Two a second, one at a time: any worker outruns that unpaced, however busy the machine.
    job_id = transfer_job(rc_sim, 57, photos=6)
    rc_sim.faults = Faults(rate_limit_per_s=2, retry_after_s=1)

    job_run(job_id=job_id)

    # Without our pace the same job trips the provider's limit: the test can tell the difference.
    assert (rate_limited(rc_sim) > 0) is expect_429
    if not expect_429:
        assert TransferItem.objects.filter(job_id=job_id, status=ItemStatus.SUCCEEDED).count() == 6


@pytest.mark.django_db
def test_a_lease_left_by_a_dead_worker_expires() -> None:
    ProviderLease.objects.create(
        provider="corrigopro", slot=0, holder=uuid.uuid4(), expires_at=time.time() - 1
    )
    holder = _lease_acquire("corrigopro", cap=1)
    assert ProviderLease.objects.get(provider="corrigopro", slot=0).holder == holder


@pytest.mark.django_db
def test_a_slot_is_released_when_the_request_fails(settings: Any) -> None:
    limits(settings, rate=0, cap=1)
    with pytest.raises(RuntimeError), provider_slot("recoveryconnect"):
        raise RuntimeError("the request failed")
    assert ProviderLease.objects.get(provider="recoveryconnect").holder is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent transactions (PostgreSQL)")
@pytest.mark.parametrize(("cap", "peak_at_most"), [(2, 2), (0, 4)], ids=["capped", "uncapped"])
def test_workers_together_stay_within_the_concurrency_cap(
    rc_sim: RecoveryConnectSimulator, settings: Any, cap: int, peak_at_most: int
) -> None:
    limits(settings, rate=0, cap=cap)
    jobs = [transfer_job(rc_sim, order_id, photos=5) for order_id in (61, 62, 63, 64)]
    rc_sim.faults = Faults(latency_s=0.1)
    errors: list[BaseException] = []

    def worker(job_id: int) -> None:
        try:
            job_run(job_id=job_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(job_id,)) for job_id in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert TransferItem.objects.filter(status=ItemStatus.SUCCEEDED).count() == 20
    if cap:
        assert rc_sim.peak_in_flight == cap
    else:  # the control: without the cap the four workers overlap
        assert rc_sim.peak_in_flight > 2
    assert rc_sim.peak_in_flight <= peak_at_most
