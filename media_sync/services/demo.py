"""Demo data: the same orders the RecoveryConnect simulator's demo seed holds, mirrored for real."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.templatetags.static import static

from integrations.corrigopro.simulator import DEMO_WORK_ORDERS
from integrations.recoveryconnect.simulator import DEMO_ORDERS
from integrations.suapi.simulator import DEMO_PROPERTIES, demo_picture
from media_sync.models import CorrigoWorkOrder, RecoveryConnectOrder, SavedView, SuProperty, TransferJob
from media_sync.services.corrigopro import cp_sync_start
from media_sync.services.recoveryconnect import rc_refresh_start
from media_sync.services.recoveryconnect_documents import rc_documents_refresh_start
from media_sync.services.run import job_run
from media_sync.services.suapi import su_batch_start
from media_sync.services.suapi_photos import su_photo_add

DEMO_USERS = {"admin": None, "operator": "Operators", "lead": "Team leads"}


def demo_users_reset(*, password: str) -> list[str]:
    """The admin login and one login per role, all with the given password."""
    for username, group in DEMO_USERS.items():
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = True
        user.email = f"{username}@example.com"  # the demo's alerts print to the console
        user.is_superuser = group is None
        user.set_password(password)
        user.save()
        if group:
            user.groups.set([Group.objects.get(name=group)])
    # One view the lead shared, so every list's sidebar shows what a saved view is.
    SavedView.objects.get_or_create(
        owner=User.objects.get(username="lead"),
        name="Failed item results",
        defaults={
            "shared": True,
            "changelist": "media_sync.auditevent",
            "query": "kind__exact=item&outcome__exact=failed",
        },
    )
    return list(DEMO_USERS)


def demo_orders_load() -> TransferJob | None:
    """Mirror the demo orders by listing their photos at the (running) simulator."""
    for order_id, client_order_id, closed in DEMO_ORDERS:
        RecoveryConnectOrder.objects.update_or_create(
            order_id=order_id,
            defaults={
                "client_order_id": client_order_id,
                "description": "closed at the provider" if closed else "demo order",
            },
        )
    job = rc_refresh_start(
        order_ids=[order_id for order_id, _, _ in DEMO_ORDERS], triggered_by="demo", enqueue=False
    )
    return job_run(job_id=job.pk)


def demo_documents_load() -> TransferJob | None:
    """Mirror the demo orders' documents (call after demo_orders_load), so a team lead sees them and an
    operator can transfer them."""
    job = rc_documents_refresh_start(
        order_ids=[order_id for order_id, _, _ in DEMO_ORDERS], triggered_by="demo", enqueue=False
    )
    return job_run(job_id=job.pk)


def demo_work_orders_load() -> TransferJob | None:
    """Mirror the demo work orders and their attachments from the (running) CorrigoPro simulator."""
    for work_order_id, status in DEMO_WORK_ORDERS:
        CorrigoWorkOrder.objects.update_or_create(
            work_order_id=work_order_id, defaults={"status": status, "description": "demo work order"}
        )
    job = cp_sync_start(
        work_order_ids=[work_order_id for work_order_id, _ in DEMO_WORK_ORDERS],
        triggered_by="demo",
        enqueue=False,
    )
    return job_run(job_id=job.pk)


def demo_booking_batch_send() -> TransferJob:
    """A Booking.com batch that ends, while one watches, with ok, duplicate, bad_url and error_decode:
    two new pictures, one Booking.com already has, a link that answers 403 and a file that is no JPEG."""
    hotels = [
        SuProperty.objects.update_or_create(
            hotel_id=hotel_id,
            defaults={"channel_hotel_id": channel_hotel_id, "name": f"Demo hotel {hotel_id}"},
        )[0]
        for hotel_id, channel_hotel_id in DEMO_PROPERTIES
    ]
    photos = [
        su_photo_add(
            property=hotels[0], source=ContentFile(demo_picture(n), name=name), name=name, uploaded_by="demo"
        )
        for n, name in ((1, "lobby.jpg"), (2, "pool.jpg"), (0, "facade.jpg"))
    ]
    base = settings.MEDIA_SYNC_PUBLIC_BASE_URL.rstrip("/")
    urls = [f"{base}/media-links/0/missing.jpg", f"{base}{static('media_sync/demo/not-a-photo.jpg')}"]
    return su_batch_start(property=hotels[0], photos=photos, urls=urls, tags=[101], triggered_by="demo")
