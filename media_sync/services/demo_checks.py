"""Demo data for the check at the provider: a transfer of two photos of order 57076503 to order 9100004,
one copy then deleted at RecoveryConnect (the simulator), and the check that finds it missing."""

from __future__ import annotations

import requests
from django.conf import settings

from media_sync.models import RecoveryConnectOrder, TransferJob
from media_sync.services.checks import job_check
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run

SOURCE, DESTINATION, DESTINATION_INTERNAL = 57076503, 9100004, 57076506
PHOTOS = ("front.jpg", "rear.jpg")
REMOVED = "rear.jpg"
TIMEOUT = 5.0


def _sim(path: str, method: str = "GET") -> requests.Response:
    """One of the RecoveryConnect simulator's control routes (the demo runs it; never a real provider)."""
    base = settings.RECOVERYCONNECT["BASE_URL"].rstrip("/")
    response = requests.request(method, f"{base}/_sim/recoveryconnect/{path}", timeout=TIMEOUT)
    response.raise_for_status()
    return response


def demo_checked_transfer() -> TransferJob:
    """Call after demo_orders_load: the job page then says "Confirmed at the provider: 1 of 2"."""
    source = RecoveryConnectOrder.objects.get(order_id=SOURCE)
    job = rc_transfer_photos_start(
        photos=list(source.photos.filter(name__in=PHOTOS)),
        destinations=[DESTINATION],
        triggered_by="demo",
        enqueue=False,
    )
    job_run(job_id=job.pk)
    orders = _sim("orders").json()["orders"]
    copies = next(order["photos"] for order in orders if order["internal_id"] == DESTINATION_INTERNAL)
    removed = next(photo["id"] for photo in reversed(copies) if photo["name"] == REMOVED)
    _sim(f"orders/{DESTINATION_INTERNAL}/photos/{removed}/remove", method="POST")
    job.refresh_from_db()
    job_check(job=job, triggered_by="demo")
    return job
