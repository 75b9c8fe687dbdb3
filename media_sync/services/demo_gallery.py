"""Demo data for the Booking.com gallery: NT7's gallery holds the simulator's own photo and one more added
outside this app, and one photo of ours that was removed at Booking.com afterwards; mirrored for real."""

from __future__ import annotations

import time

import requests
from django.conf import settings
from django.core.files.base import ContentFile

from integrations.suapi.simulator import DEMO_PROPERTIES, demo_picture
from media_sync.models import BatchStatus, SuBatch, SuProperty, TransferJob
from media_sync.services.run import job_run
from media_sync.services.suapi import su_batch_start
from media_sync.services.suapi_gallery import su_gallery_sync_start
from media_sync.services.suapi_photos import su_photo_add
from media_sync.services.suapi_polls import su_poll_now

# How long the demo waits for the simulator to process the photo it then removes.
PROCESS_WAIT_S = 30.0
TIMEOUT = 5.0


def _control(path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    """One of the SU API simulator's control routes (the demo runs it; never a real provider)."""
    response = requests.post(f"{settings.SUAPI['BASE_URL']}/_sim/suapi/{path}", json=body, timeout=TIMEOUT)
    response.raise_for_status()
    result: dict[str, object] = response.json()
    return result


def demo_booking_gallery() -> TransferJob | None:
    """Send terrace.jpg to NT7 and wait until Booking.com (the simulator) took it; have it removed there
    and another photo added outside this app; then refresh the gallery. Needs the web server up: the
    simulator downloads the photo from our signed link."""
    hotel_id, channel_hotel_id = DEMO_PROPERTIES[0]
    hotel, _ = SuProperty.objects.update_or_create(
        hotel_id=hotel_id, defaults={"channel_hotel_id": channel_hotel_id, "name": f"Demo hotel {hotel_id}"}
    )
    terrace = su_photo_add(
        property=hotel,
        source=ContentFile(demo_picture(4), name="terrace.jpg"),
        name="terrace.jpg",
        uploaded_by="demo",
    )
    job = su_batch_start(property=hotel, photos=[terrace], tags=[76], triggered_by="demo", enqueue=False)
    job_run(job_id=job.pk)
    batch = SuBatch.objects.get(job=job)
    deadline = time.monotonic() + PROCESS_WAIT_S
    while batch.status == BatchStatus.POLLING:
        su_poll_now(batch=batch)  # each pendingImages lets the simulator process what is due
        batch.refresh_from_db()
        if batch.status != BatchStatus.POLLING or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    sent = batch.photos.get()
    if sent.booking_photo_id:
        _control(f"properties/{hotel_id}/photos/{sent.booking_photo_id}/remove")
    _control(f"properties/{hotel_id}/photos", {"seed": 6, "tags": [81]})
    return job_run(job_id=su_gallery_sync_start(property=hotel, triggered_by="demo", enqueue=False).pk)
