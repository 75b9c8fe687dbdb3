"""Small helpers for the tests: the same order on both sides (simulator and mirror), work waiting on a
provider, webhook bodies, users in a role, commands run."""

from __future__ import annotations

import io
import uuid
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from integrations.http import Exchange, OutgoingRequest
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.suapi.simulator import SuApiSimulator, demo_picture
from media_sync.models import (
    AuditEvent,
    RecoveryConnectOrder,
    RecoveryConnectPhoto,
    SuBatch,
    SuProperty,
    TransferJob,
)
from media_sync.roles import roles_sync
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from media_sync.services.suapi import su_batch_start
from media_sync.services.suapi_photos import su_photo_add


def order_on_both_sides(
    sim: RecoveryConnectSimulator,
    order_id: int,
    client_order_id: int,
    photo_ids: list[int],
    *,
    locked: tuple[int, ...] = (),
    closed: bool = False,
) -> RecoveryConnectOrder:
    sim.add_order(
        order_id,
        client_order_id,
        closed=closed,
        photos=[
            {"id": photo_id, "name": f"{photo_id}.jpg", "locked": photo_id in locked}
            for photo_id in photo_ids
        ],
    )
    order = RecoveryConnectOrder.objects.create(order_id=order_id, client_order_id=client_order_id)
    for photo_id in photo_ids:
        RecoveryConnectPhoto.objects.create(photo_id=photo_id, order=order, name=f"{photo_id}.jpg")
    return order


def run_command(*args: str) -> tuple[int, str]:
    """A management command's exit code and what it printed."""
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def role(name: str) -> Group:
    """A role group as `media_sync/roles.py` declares it (every migrate and flush syncs them)."""
    if not Group.objects.filter(name=name).exists():
        roles_sync()
    return Group.objects.get(name=name)


def login(client: Client, username: str, group: str | None = None, *, staff: bool = True) -> User:
    user = User.objects.create_user(username, password="x", is_staff=staff)
    if group:
        user.groups.add(role(group))
    client.force_login(user)
    return user


def rc_transfer(
    rc_sim: RecoveryConnectSimulator, destinations: list[int], photos: int = 3, *, unknown: int | None = None
) -> TransferJob:
    """A pending job: photos of order 57076503 to each destination; `unknown` is one RecoveryConnect does
    not have."""
    ids = [180461378 + n for n in range(photos)]
    order = order_on_both_sides(rc_sim, 57076503, 9100001, ids)
    for n, destination in enumerate(destinations):
        if destination != unknown:
            rc_sim.add_order(57076600 + n, destination)
    return rc_transfer_photos_start(
        photos=list(order.photos.all()), destinations=destinations, triggered_by="olga", enqueue=False
    )


def su_waiting_batch(su_sim: SuApiSimulator) -> SuBatch:
    """Two photos sent to Booking.com (property NT7) that it has not decided on yet; once its clock moves
    on, it takes pool.jpg and finds facade.jpg a duplicate of the demo photo. Booking.com fetches each
    photo from us: the caller sets MEDIA_SYNC_PUBLIC_BASE_URL to a live server first."""
    su_sim.seed_demo()
    hotel = SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615")
    photos = [
        su_photo_add(
            property=hotel, source=SimpleUploadedFile(n, demo_picture(k)), name=n, uploaded_by="olga"
        )
        for k, n in ((21, "pool.jpg"), (0, "facade.jpg"))
    ]
    job = su_batch_start(property=hotel, photos=photos, tags=[], triggered_by="olga", enqueue=False)
    job_run(job_id=job.pk)
    return SuBatch.objects.get(job=job)


def webhook_body(
    event: str, work_order_id: int = 1001, message_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A CorrigoPro webhook's JSON body (a fresh MessageId unless given)."""
    header = {
        "WorkOrderId": work_order_id,
        "BranchId": 1,
        "Action": event,
        "ApiVersion": "1.0",
        "Sender": {"Name": "Customer", "Phone": "", "Type": "Customer"},
        "ActionDate": "2026-11-23T10:00:00Z",
        "MessageId": message_id or str(uuid.uuid4()),
    }
    return {**fields, "Header": header}


def attachment_added(
    attachment_id: str = "6f1c2a4e-0000-4000-8000-000000000001", message_id: str | None = None
) -> dict[str, Any]:
    return webhook_body(
        "AttachmentAdded",
        message_id=message_id,
        AttachmentId=attachment_id,
        Name="leak.jpg",
        MimeType="image/jpeg",
        Size=1234,
        Subtype="Picture",
    )


def exchanges(n: int, *, answered: bool = True) -> list[AuditEvent]:
    """n calls through a recorder, each a request row and (when `answered`) its answer."""
    recorder = ExchangeRecorder(job=None, subject="order 57076503", triggered_by="ann")
    requests = []
    for photo in range(1, n + 1):
        recorder.about(item=str(photo), destination="9100002")
        path = f"/api/v130/orders/57076503/photos/{photo}"
        recorder.before_send(OutgoingRequest("recoveryconnect", "transfer_photo", "PUT", path, 1, "{}"))
        assert recorder.sent is not None
        requests.append(recorder.sent)
        if answered:
            recorder(Exchange("recoveryconnect", "transfer_photo", "PUT", path, 1, "{}", 200, "{}", 30, None))
    return requests
