"""Check at the provider, afterwards (Booking.com photo batches), against the simulator over real HTTP: the
gallery by photo id (confirmed, missing, removed later), and the photos Booking.com ended as duplicates or
whose pending ids expired."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from integrations.suapi.simulator import SuApiSimulator
from media_sync.models import AuditEvent, AuditKind, CheckResult, Operation, SuBatch, TransferJob
from media_sync.services.checks import job_check
from media_sync.services.suapi_polls import su_poll_now
from tests.media_sync.factories import su_waiting_batch

pytestmark = pytest.mark.django_db


def results(job: TransferJob) -> dict[str, str]:
    """By file name: an item is "1. pool.jpg (800x600)"."""
    return {item.item.split(". ", 1)[-1].split(" (")[0]: item.check_result for item in job.items.all()}


def sends(job: TransferJob) -> int:
    return AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation=Operation.CREATE).count()


def gallery_calls(job: TransferJob) -> int:
    return AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation=Operation.RETRIEVE_ALL).count()


def remove_at_booking(hotel_id: str, photo_id: str) -> None:
    base = settings.SUAPI["BASE_URL"]
    answer = requests.post(f"{base}/_sim/suapi/properties/{hotel_id}/photos/{photo_id}/remove", timeout=10)
    assert answer.status_code == 200, answer.text


@pytest.fixture
def decided(live_app: Any, settings: Any, su_sim: SuApiSimulator) -> SuBatch:
    """pool.jpg taken (ok, a photo id), facade.jpg ended as a duplicate of the demo photo."""
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = live_app.url
    batch = su_waiting_batch(su_sim)
    su_sim.clock.advance(su_sim.process_after_s)
    su_poll_now(batch=batch)
    batch.job.refresh_from_db()
    assert batch.job.is_finished
    return batch


def test_confirmed_duplicate_then_removed_later_one_gallery_call_each(
    decided: SuBatch, su_sim: SuApiSimulator
) -> None:
    job = decided.job
    sent = sends(job)

    job_check(job=job, triggered_by="leo")

    assert results(job) == {"pool.jpg": CheckResult.CONFIRMED, "facade.jpg": CheckResult.DUPLICATE}
    assert gallery_calls(job) == 1
    pool = decided.photos.get(item__item__contains="pool.jpg")
    remove_at_booking("NT7", pool.booking_photo_id)
    job_check(job=job, triggered_by="leo")
    assert results(job)["pool.jpg"] == CheckResult.REMOVED_LATER
    assert gallery_calls(job) == 2
    assert sends(job) == sent == 1  # nothing sent again
    row = AuditEvent.objects.filter(job=job, kind=AuditKind.CHECK, item__contains="facade").last()
    assert (
        row is not None
        and row.provider_status == CheckResult.DUPLICATE
        and "duplicate of photo" in row.message
    )


def test_a_photo_gone_before_any_check_or_refresh_is_missing(decided: SuBatch) -> None:
    pool = decided.photos.get(item__item__contains="pool.jpg")
    remove_at_booking("NT7", pool.booking_photo_id)

    job_check(job=decided.job, triggered_by="leo")

    assert results(decided.job)["pool.jpg"] == CheckResult.MISSING


def test_pending_ids_that_expired_are_expired(live_app: Any, settings: Any, su_sim: SuApiSimulator) -> None:
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = live_app.url
    batch = su_waiting_batch(su_sim)
    SuBatch.objects.filter(pk=batch.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    su_poll_now(batch=batch)
    batch.job.refresh_from_db()
    assert batch.job.is_finished

    job_check(job=batch.job, triggered_by="leo")

    assert set(results(batch.job).values()) == {CheckResult.EXPIRED}
    assert gallery_calls(batch.job) == 0  # nothing succeeded: the batch's own record says it all
