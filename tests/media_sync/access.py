"""Who may do what in the admin, as tables: every URL the project exposes (`ROUTES`) and every admin action
(`ACTIONS`), with the answer each kind of visitor gets (anonymous, staff with no role, operator, team lead,
superuser), and the world of one of everything they are tried against (`build_world`).

tests/media_sync/test_roles.py checks the app against the tables and checks that they are complete;
test_security.py and the browser's test_every_page.py walk the same tables."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task

from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.suapi.simulator import DEMO_PHOTO_ID, DEMO_ROOM_ID, SuApiSimulator, demo_picture
from media_sync.models import (
    AuditEvent,
    CorrigoAttachment,
    CorrigoWorkOrder,
    RecoveryConnectRecovery,
    SavedView,
    SuBatch,
    SuBatchPhoto,
    SuGalleryPhoto,
    SuProperty,
    SuRoom,
    SuTag,
    WebhookDelivery,
)
from media_sync.services.corrigopro import cp_upload_start
from media_sync.services.media import media_link
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.recoveryconnect_documents import rc_documents_refresh_start
from media_sync.services.run import job_run
from media_sync.services.suapi import su_batch_start
from media_sync.services.suapi_gallery import su_gallery_sync_start
from media_sync.services.suapi_photos import su_photo_add
from media_sync.services.thumbnails import thumbnails_make
from tests.media_sync.factories import order_on_both_sides, role

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response


# --- Visitors, and a world with one of everything the admin shows ---------------------------------------

Visitor = str | None
ANON: Visitor = None
STAFF: Visitor = ""  # staff, no role
OPERATOR: Visitor = "Operators"
LEAD: Visitor = "Team leads"
ROOT: Visitor = "root"  # superuser
VISITORS = (ANON, STAFF, OPERATOR, LEAD, ROOT)
ROLES = (STAFF, OPERATOR, LEAD)
VISITOR_NAMES = {ANON: "anonymous", STAFF: "sam", OPERATOR: "olga", LEAD: "leo", ROOT: "root"}
PASSWORD = "Old-passphrase-4-tests"
NEW_PASSWORD = "New-passphrase-4-tests"
LOGIN = "login"  # the answer is a redirect to the admin's login page
Answer = int | str
Codes = tuple[Answer, Answer, Answer, Answer, Answer]  # in VISITORS order


def visitor_clients(*, enforce_csrf_checks: bool = False) -> dict[Visitor, Client]:
    """One logged-in client per kind of visitor (a fresh anonymous one for ANON)."""
    clients = {}
    for visitor in VISITORS:
        client = Client(enforce_csrf_checks=enforce_csrf_checks)
        if visitor is not None:
            name = VISITOR_NAMES[visitor]
            user = User.objects.filter(username=name).first()
            if user is None:
                if visitor == ROOT:
                    user = User.objects.create_superuser(name, password=PASSWORD)
                else:
                    user = User.objects.create_user(name, password=PASSWORD, is_staff=True)
                    if visitor:
                        user.groups.add(role(visitor))
            client.force_login(user)
        clients[visitor] = client
    return clients


@dataclass
class World:
    """The object each page opens ("app/model" -> instance), plus what the other URLs need."""

    objects: dict[str, Any]
    sent: SuBatchPhoto
    media_link: str


def build_world(
    rc_sim: RecoveryConnectSimulator, cp_sim: CorrigoProSimulator, su_sim: SuApiSimulator
) -> World:
    """Real work through the simulators where the app would do it, so every page has something true to
    show: a job with a failed item (retryable), an uploaded attachment, a sent batch."""
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [180461378])
    # One recovery, at RecoveryConnect and mirrored, so the order's "Upload photos…" has one to upload to.
    rc_sim.add_recovery(57076503, id=10120166, created_at="2026-01-12 09:30:00")
    RecoveryConnectRecovery.objects.create(
        recovery_id=10120166, order=order, created_at_provider="2026-01-12 09:30:00"
    )
    rc_sim.add_order(57076502, 9100002)
    rc_sim.add_order(57076504, 9100004)
    job = rc_transfer_photos_start(
        photos=list(order.photos.all()), destinations=[9109999, 9100004], triggered_by="olga", enqueue=False
    )
    # 9109999 is unknown at RecoveryConnect: that item fails (retryable); 9100004's succeeds (checkable).
    job_run(job_id=job.pk)
    rc_sim.add_document(57076503, "release-form.pdf", "Dana Whitfield")
    documents = rc_documents_refresh_start(order_ids=[57076503], triggered_by="olga", enqueue=False)
    job_run(job_id=documents.pk)

    cp_sim.add_work_order(1001)
    work_order = CorrigoWorkOrder.objects.create(work_order_id=1001, status="Accepted")
    upload = cp_upload_start(
        work_order=work_order,
        source=SimpleUploadedFile("after.jpg", tiny_jpeg()),
        name="after.jpg",
        performed_by="Ann",
        triggered_by="olga",
        enqueue=False,
    )
    job_run(job_id=upload.pk)
    delivery = WebhookDelivery.objects.create(
        provider="corrigopro", message_id="m-1", event_type="AttachmentAdded", body={"Header": {}}
    )

    # Their thumbnails, as the task queued by mirroring makes them.
    thumbnails_make(provider="recoveryconnect", parent_id=57076503)
    thumbnails_make(provider="corrigopro", parent_id=1001)

    su_sim.seed_demo()
    hotel = SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615")
    sent_photo, spare_photo = (
        su_photo_add(
            property=hotel, source=SimpleUploadedFile(n, demo_picture(k)), name=n, uploaded_by="olga"
        )
        for k, n in ((21, "pool.jpg"), (22, "lobby.jpg"))
    )
    batch_job = su_batch_start(
        property=hotel, photos=[sent_photo], tags=[], triggered_by="olga", enqueue=False
    )
    job_run(job_id=batch_job.pk)
    batch = SuBatch.objects.get(job=batch_job)
    # As if Booking.com had processed it: only such a photo may be deleted there.
    batch.photos.update(status="ok", booking_photo_id="PHOTO-1")
    # The gallery as a refresh mirrors it: the demo photo (added outside) and PHOTO-1, removed there.
    room = SuRoom.objects.create(property=hotel, channel_room_id=DEMO_ROOM_ID, name="Double")
    job_run(job_id=su_gallery_sync_start(property=hotel, triggered_by="olga", enqueue=False).pk)
    # A view another operator shared with the team: a team lead (who keeps the shared ones tidy) and a
    # superuser may rename or delete it; the visiting operator only opens it.
    saved_view = SavedView.objects.create(
        name="Failed today",
        owner=User.objects.create_user("ona", is_staff=True),
        shared=True,
        changelist="media_sync.auditevent",
        query="outcome=failed",
    )
    now = timezone.now()
    objects = {
        "media_sync/recoveryconnectorder": order,
        "media_sync/recoveryconnectphoto": order.photos.get(),
        "media_sync/recoveryconnectdocument": order.documents.get(),
        "media_sync/corrigoworkorder": work_order,
        "media_sync/corrigoattachment": CorrigoAttachment.objects.get(),
        "media_sync/webhookdelivery": delivery,
        # A property and a photo nothing else refers to, so a superuser's delete can go through.
        "media_sync/suproperty": SuProperty.objects.create(hotel_id="NT8", channel_hotel_id="1"),
        "media_sync/suphoto": spare_photo,
        "media_sync/subatch": batch,
        "media_sync/sugalleryphoto": SuGalleryPhoto.objects.get(photo_id=DEMO_PHOTO_ID),
        "media_sync/suroom": room,
        "media_sync/sutag": SuTag.objects.get(tag_id=13),
        "media_sync/transferjob": job,
        "media_sync/auditevent": AuditEvent.objects.filter(job=job).first(),
        # The group the failed transfer to 9109999 joined.
        "media_sync/failuregroup": job.items.get(status="failed").failure_group,
        "auth/group": Group.objects.create(name="Spare"),
        "auth/user": User.objects.create_user("zed", is_staff=True),
        "django_q/schedule": Schedule.objects.create(name="spare", func="math.floor", args="1"),
        "django_q/success": Task.objects.create(
            id="a" * 32, name="done", func="time.time", started=now, stopped=now, success=True
        ),
        "django_q/failure": Task.objects.create(
            id="b" * 32, name="failed", func="time.time", started=now, stopped=now, success=False
        ),
        "django_q/ormq": OrmQ.objects.create(key="media-sync", payload="x", lock=None),
        "media_sync/savedview": saved_view,
    }
    link = urlsplit(media_link(spare_photo.media, ttl=600))
    return World(objects=objects, sent=batch.photos.get(), media_link=f"{link.path}?{link.query}")


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the login bookkeeping (sessions, and django-axes' count of failed
    logins): equal before and after means nothing changed."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models()
        if not model._meta.proxy and model is not Session and model._meta.app_label != "axes"
    }


def post_changes(client: Client, url: str, data: dict[str, Any]) -> tuple[Response, bool]:
    """POST, say whether the database changed, and undo it: the next visitor meets the same world."""
    with transaction.atomic():
        before = snapshot()
        response = client.post(url, data)
        changed = snapshot() != before
        transaction.set_rollback(True)
    return response, changed


# --- Every URL: who may open it, and whose POST changes anything -----------------------------------------

Payload = Callable[[World], dict[str, Any]]


def nothing(world: World) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Route:
    get: Codes
    writers: frozenset[Visitor] = frozenset()  # whose POST (with `payload`) changes the database
    payload: Payload = nothing


def page(*who: Visitor, root: Answer = 200) -> Codes:
    """An admin page these roles open (200); other staff get 403, anonymous visitors the login page."""
    return (LOGIN, *(200 if role in who else 403 for role in ROLES), root)  # type: ignore[return-value]


def every(code: Answer, anonymous: Answer = LOGIN) -> Codes:
    return (anonymous, code, code, code, code)


NOBODY: frozenset[Visitor] = frozenset()
BOTH = frozenset({OPERATOR, LEAD})
OPS = frozenset({OPERATOR})
WITH_ROOT = frozenset({OPERATOR, ROOT})


def inline_forms(*prefixes: str, initial: int = 0) -> dict[str, Any]:
    """The management form of read-only inlines: the admin wants it even when it shows no form."""
    return {
        key: value
        for prefix in prefixes
        for key, value in {f"{prefix}-TOTAL_FORMS": initial, f"{prefix}-INITIAL_FORMS": initial}.items()
    }


@dataclass(frozen=True)
class Grants:
    """Who may do what with one model's standard admin pages. Nobody but a superuser deletes."""

    view: frozenset[Visitor]
    add: frozenset[Visitor] = NOBODY
    change: frozenset[Visitor] = NOBODY
    root_adds: bool = True  # False: the model is written by services only, superusers included
    root_changes: bool = False  # True: a superuser's empty change form saves (every field is read-only)
    root_deletes: str = "deletes"  # "no": superusers neither; "blocked": the page says what stands in the way
    add_payload: Payload = nothing  # a valid add form, where some role may add
    change_payload: Payload = nothing


MODELS: dict[str, Grants] = {
    "auth/group": Grants(NOBODY),
    "auth/user": Grants(NOBODY),
    "django_q/schedule": Grants(NOBODY),
    "django_q/success": Grants(NOBODY, root_adds=False, root_changes=True),
    "django_q/failure": Grants(NOBODY, root_adds=False, root_changes=True),
    "django_q/ormq": Grants(NOBODY, root_adds=False),
    # An order or work order holds read-only mirrors (photos, attachments): nobody deletes it here.
    "media_sync/recoveryconnectorder": Grants(
        BOTH,
        add=OPS,
        root_deletes="blocked",
        add_payload=lambda w: {
            "order_id": 57079000,
            "client_order_id": 9179000,
            **inline_forms("recoveries", "photos", "documents"),
        },
    ),
    "media_sync/recoveryconnectphoto": Grants(BOTH, root_adds=False, root_deletes="no"),
    "media_sync/recoveryconnectdocument": Grants(BOTH, root_adds=False, root_deletes="no"),
    "media_sync/corrigoworkorder": Grants(
        BOTH,
        add=OPS,
        root_deletes="blocked",
        change=OPS,  # the status, corrected by hand when CorrigoPro says otherwise
        add_payload=lambda w: {"work_order_id": 2002, **inline_forms("attachments")},
        change_payload=lambda w: {"status": "Completed", **inline_forms("attachments", initial=1)},
    ),
    "media_sync/corrigoattachment": Grants(BOTH, root_adds=False, root_deletes="no"),
    "media_sync/webhookdelivery": Grants(BOTH, root_adds=False, root_deletes="no"),
    "media_sync/suproperty": Grants(
        BOTH,
        add=OPS,
        add_payload=lambda w: {
            "hotel_id": "NT9",
            "channel_hotel_id": "99",
            **inline_forms("photos", "batches"),
        },
    ),
    "media_sync/suphoto": Grants(
        BOTH,
        add=OPS,
        add_payload=lambda w: {
            "property": w.objects["media_sync/suproperty"].pk,
            "file": SimpleUploadedFile("terrace.jpg", demo_picture(23)),
        },
    ),
    "media_sync/subatch": Grants(BOTH, root_adds=False, root_deletes="no"),
    "media_sync/sugalleryphoto": Grants(BOTH, root_adds=False, root_deletes="no"),
    "media_sync/sutag": Grants(BOTH, root_adds=False, root_deletes="no"),
    "media_sync/suroom": Grants(
        BOTH,
        add=OPS,
        change=OPS,  # a room's channel_room_id and name, kept by hand like a property's ids
        add_payload=lambda w: {
            "property": w.objects["media_sync/suproperty"].pk,
            "channel_room_id": "R-9",
            "name": "Suite",
        },
        change_payload=lambda w: {
            "property": w.objects["media_sync/suroom"].property_id,
            "channel_room_id": DEMO_ROOM_ID,
            "name": "Renamed",
        },
    ),
    "media_sync/transferjob": Grants(BOTH, root_adds=False, root_deletes="no"),
    "media_sync/auditevent": Grants(BOTH, root_adds=False, root_deletes="no"),
    # Written by services only (items joining, triage actions): nobody adds, edits or deletes a group.
    "media_sync/failuregroup": Grants(BOTH, root_adds=False, root_deletes="no"),
    # Saved only from the list it shows (the save URL below), never from an add page.
    "media_sync/savedview": Grants(
        BOTH, root_adds=False, change=frozenset({LEAD}), change_payload=lambda w: {"name": "Renamed"}
    ),
}
# django-q2 puts its queue in the admin only with the ORM broker (CI's second run uses Redis).
ORM_BROKER = "orm" in settings.Q_CLUSTER
if not ORM_BROKER:
    del MODELS["django_q/ormq"]


def model_routes(key: str, grants: Grants) -> dict[str, Route]:
    """The six URLs ModelAdmin.get_urls gives every model, with what the grants allow on each."""
    add_writers = grants.add | {ROOT} if grants.add else NOBODY
    change_writers = grants.change | {ROOT} if grants.change or grants.root_changes else NOBODY
    opens = page(*grants.view)
    return {
        f"admin/{key}/": Route(opens),  # its POSTs are actions: see ACTIONS
        f"admin/{key}/add/": Route(
            page(*grants.add, root=200 if grants.root_adds else 403), add_writers, grants.add_payload
        ),
        f"admin/{key}/<path:object_id>/history/": Route(opens),
        f"admin/{key}/<path:object_id>/delete/": Route(
            page(root=403 if grants.root_deletes == "no" else 200),
            frozenset({ROOT}) if grants.root_deletes == "deletes" else NOBODY,
            lambda w: {"post": "yes"},
        ),
        f"admin/{key}/<path:object_id>/change/": Route(opens, change_writers, grants.change_payload),
        f"admin/{key}/<path:object_id>/": Route(every(302)),  # to the change page
    }


STAFF_AND_ROOT = frozenset({STAFF, OPERATOR, LEAD, ROOT})
EVERYONE = frozenset(VISITORS)

OTHER_ROUTES: dict[str, Route] = {
    "": Route(every(302, anonymous=302)),  # to the admin
    "admin/": Route(every(200)),
    "admin/login/": Route(
        (200, 302, 302, 302, 302),  # a logged-in visitor is sent on to the index
        # A wrong password is counted towards the lockout (django-axes): login bookkeeping, not a change.
        payload=lambda w: {"username": "olga", "password": "wrong"},
    ),
    "admin/logout/": Route(every(405, anonymous=302)),  # POST only; its only change is the session
    "admin/password_change/": Route(
        every(200),
        STAFF_AND_ROOT,  # everyone with staff access changes their own password
        lambda w: {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ),
    "admin/password_change/done/": Route(every(200)),
    "admin/autocomplete/": Route(every(403)),  # no autocomplete fields anywhere
    "admin/jsi18n/": Route(every(200)),
    "admin/r/<path:content_type_id>/<path:object_id>/": Route(every(404)),  # no model has a site URL
    # An app with nothing the visitor may see is "not found" to them.
    "admin/^(?P<app_label>auth|django_q|media_sync)/$": Route((LOGIN, 404, 200, 200, 200)),
    "admin/(?P<url>.*)$": Route(every(404)),
    "admin/auth/user/<id>/password/": Route(
        page(),
        frozenset({ROOT}),
        lambda w: {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    ),
    "admin/media_sync/auditevent/export/": Route(page(LEAD)),
    "admin/media_sync/auditevent/dashboard/": Route(page(OPERATOR, LEAD)),
    "admin/media_sync/auditevent/summary/": Route(page(LEAD)),
    "admin/media_sync/auditevent/timeline/<str:kind>/<str:key>/": Route(page(OPERATOR, LEAD)),
    "admin/media_sync/auditevent/timeline/<str:kind>/<str:key>/export/": Route(page(LEAD)),
    "admin/media_sync/suphoto/<path:object_id>/thumbnail/": Route(page(OPERATOR, LEAD)),
    "admin/media_sync/suphoto/<path:object_id>/preview/": Route(page(OPERATOR, LEAD)),
    # Pictures come from media storage through these views only: whoever may view the photo.
    "admin/media_sync/recoveryconnectphoto/<path:object_id>/thumbnail/": Route(page(OPERATOR, LEAD)),
    "admin/media_sync/recoveryconnectphoto/<path:object_id>/preview/": Route(page(OPERATOR, LEAD)),
    "admin/media_sync/corrigoattachment/<path:object_id>/thumbnail/": Route(page(OPERATOR, LEAD)),
    "admin/media_sync/corrigoattachment/<path:object_id>/preview/": Route(page(OPERATOR, LEAD)),
    "admin/media_sync/recoveryconnectorder/<path:object_id>/upload/": Route(
        page(OPERATOR),
        WITH_ROOT,
        lambda w: {"photos": [SimpleUploadedFile("a.jpg", tiny_jpeg(), "image/jpeg")]},
    ),
    "admin/media_sync/corrigoworkorder/<path:object_id>/upload/": Route(
        page(OPERATOR),
        WITH_ROOT,
        lambda w: {"file": SimpleUploadedFile("a.jpg", tiny_jpeg(), "image/jpeg"), "performed_by": "Ann"},
    ),
    # Each download asks CorrigoPro for a fresh link and records it as a job: whoever may read, may.
    "admin/media_sync/corrigoattachment/<path:object_id>/download/": Route(
        page(OPERATOR, LEAD), frozenset({OPERATOR, LEAD, ROOT})
    ),
    # Our kept copy, from media storage: whoever may read the attachment; each download is an audit row.
    "admin/media_sync/corrigoattachment/<path:object_id>/our-copy/": Route(
        page(OPERATOR, LEAD), frozenset({OPERATOR, LEAD, ROOT})
    ),
    "admin/media_sync/corrigoattachment/<path:object_id>/edit/": Route(
        page(OPERATOR), WITH_ROOT, lambda w: {"name": "renamed.jpg"}
    ),
    "admin/media_sync/corrigoattachment/<path:object_id>/delete-at-provider/": Route(
        page(OPERATOR), WITH_ROOT
    ),
    "admin/media_sync/transferjob/<path:object_id>/retry/": Route(every(405), WITH_ROOT),  # POST only
    # Check at the provider: it only reads and sends nothing, so whoever may see the job may ask (team
    # leads audit transfers); each check writes the items' latest result and its audit rows. POST only.
    "admin/media_sync/transferjob/<path:object_id>/check/": Route(
        every(405), frozenset({OPERATOR, LEAD, ROOT})
    ),
    "admin/media_sync/subatch/<path:object_id>/refresh/": Route(every(403), WITH_ROOT),  # POST only
    "admin/media_sync/subatch/<path:object_id>/photos/<int:photo_pk>/delete-at-booking/": Route(
        page(OPERATOR), WITH_ROOT
    ),
    # The Booking.com gallery: operators order it and change tags and rooms; each POST starts a job.
    "admin/media_sync/suproperty/<path:object_id>/gallery/order/": Route(
        page(OPERATOR), WITH_ROOT, lambda w: {"photo_ids": DEMO_PHOTO_ID}
    ),
    "admin/media_sync/sugalleryphoto/<path:object_id>/tags/": Route(
        page(OPERATOR), WITH_ROOT, lambda w: {"tags": ["13", "73"]}
    ),
    "admin/media_sync/sugalleryphoto/<path:object_id>/thumbnail/": Route(page(OPERATOR, LEAD)),
    "admin/media_sync/sugalleryphoto/<path:object_id>/preview/": Route(page(OPERATOR, LEAD)),
    "admin/media_sync/suroom/<path:object_id>/order/": Route(
        page(OPERATOR), WITH_ROOT, lambda w: {"photo_ids": DEMO_PHOTO_ID}
    ),
    "admin/media_sync/suroom/<path:object_id>/photos/": Route(
        page(OPERATOR), WITH_ROOT, lambda w: {"change": "associate", "photo_ids": DEMO_PHOTO_ID}
    ),
    # Live progress (JSON): whoever may open the job or batch page may poll it; GET only.
    "admin/media_sync/transferjob/<path:object_id>/progress/": Route(page(OPERATOR, LEAD)),
    "admin/media_sync/subatch/<path:object_id>/progress/": Route(page(OPERATOR, LEAD)),
    # Triage of a failure group (POST only): the payload acknowledges, which operators and team leads
    # may both do (who may assign, resolve and ignore: tests/media_sync/test_triage.py); retrying sends
    # again, so operators only. The triage events' CSV: whoever may export the audit.
    "admin/media_sync/failuregroup/<path:object_id>/triage/": Route(
        every(405), frozenset({OPERATOR, LEAD, ROOT}), lambda w: {"action": "acknowledge"}
    ),
    "admin/media_sync/failuregroup/<path:object_id>/retry/": Route(every(405), WITH_ROOT),
    "admin/media_sync/failuregroup/export/": Route(page(LEAD)),
    # Saved views: operators and team leads save their own (POST only); the world's view is another
    # operator's shared one, so a team lead and a superuser may delete it (see build_world).
    "admin/media_sync/savedview/save/": Route(
        every(405),
        frozenset({OPERATOR, LEAD, ROOT}),
        lambda w: {"name": "Failed", "changelist": "media_sync.auditevent", "query": "outcome=failed"},
    ),
    "admin/media_sync/savedview/<path:object_id>/delete/": Route(
        page(LEAD), frozenset({LEAD, ROOT}), lambda w: {"post": "yes"}
    ),
    # The provider's side: no login. A refused delivery is audited, whoever sent it.
    "webhooks/corrigopro/": Route(every(405, anonymous=405), EVERYONE),
    "media-links/<int:pk>/<str:name>": Route(every(200, anonymous=200)),  # the signature is the permission
    "healthz": Route(every(200, anonymous=200)),  # for load balancers: states only, no login
    "metrics": Route(every(401, anonymous=401)),  # the bearer token is the permission, never a session
}

ROUTES: dict[str, Route] = {
    **{route: spec for key, grants in MODELS.items() for route, spec in model_routes(key, grants).items()},
    **OTHER_ROUTES,
}


def concrete(route: str, world: World) -> str:
    """The route with real ids in it."""
    special: dict[str, Callable[[], str]] = {
        "admin/r/<path:content_type_id>/<path:object_id>/": lambda: reverse(
            "admin:view_on_site",
            args=[
                ContentType.objects.get_for_model(CorrigoWorkOrder).pk,
                world.objects["media_sync/corrigoworkorder"].pk,
            ],
        ),
        "admin/^(?P<app_label>auth|django_q|media_sync)/$": lambda: reverse(
            "admin:app_list", args=["media_sync"]
        ),
        "admin/(?P<url>.*)$": lambda: "/admin/no-such-page/",
        "media-links/<int:pk>/<str:name>": lambda: world.media_link,
    }
    if route in special:
        return special[route]()
    url = "/" + route
    match = re.match(r"admin/(\w+/\w+)/", route)
    if match and match[1] in world.objects:
        url = url.replace("<path:object_id>", str(world.objects[match[1]].pk))
    url = url.replace("<int:photo_pk>", str(world.sent.pk))
    url = url.replace(
        "<str:kind>/<str:key>", f"order/{world.objects['media_sync/recoveryconnectorder'].order_id}"
    )
    return url.replace("<id>", str(world.objects["auth/user"].pk))


# --- Every admin action: who may run it ----------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    runners: frozenset[Visitor]
    confirm: Payload | None = None  # the second step's fields, for an action that asks first


DELETE_SELECTED = Action(frozenset({ROOT}), lambda w: {"post": "yes"})
DELETE_BLOCKED = Action(NOBODY, lambda w: {"post": "yes"})  # see MODELS: read-only mirrors under it
TRANSFER = Action(WITH_ROOT, lambda w: {"apply": "1", "destinations": "9100002"})

ACTIONS: dict[tuple[str, str], Action] = {
    ("auth/group", "delete_selected"): DELETE_SELECTED,
    ("auth/user", "delete_selected"): DELETE_SELECTED,
    ("django_q/schedule", "delete_selected"): DELETE_SELECTED,
    ("django_q/success", "delete_selected"): DELETE_SELECTED,
    ("django_q/success", "resubmit_task"): Action(frozenset({ROOT})),
    ("django_q/failure", "delete_selected"): DELETE_SELECTED,
    ("django_q/failure", "resubmit_task"): Action(frozenset({ROOT})),
    ("django_q/ormq", "delete_selected"): DELETE_SELECTED,
    ("media_sync/recoveryconnectorder", "transfer_all_photos"): TRANSFER,
    ("media_sync/recoveryconnectorder", "refresh_photos"): Action(WITH_ROOT),
    # Every document of the order goes: the form asks only where to (and whether to send again).
    ("media_sync/recoveryconnectorder", "transfer_documents"): TRANSFER,
    ("media_sync/recoveryconnectorder", "refresh_documents"): Action(WITH_ROOT),
    ("media_sync/recoveryconnectorder", "delete_selected"): DELETE_BLOCKED,
    ("media_sync/recoveryconnectphoto", "transfer_photos"): TRANSFER,
    ("media_sync/corrigoworkorder", "refresh_attachments"): Action(WITH_ROOT),
    ("media_sync/corrigoworkorder", "delete_selected"): DELETE_BLOCKED,
    ("media_sync/suproperty", "delete_selected"): DELETE_SELECTED,
    ("media_sync/suphoto", "send_to_booking"): Action(
        WITH_ROOT,
        lambda w: {"apply": "1", "include": [str(w.objects["media_sync/suphoto"].pk)], "tags": "13"},
    ),
    ("media_sync/suphoto", "delete_selected"): DELETE_SELECTED,
    ("media_sync/suproperty", "refresh_gallery"): Action(WITH_ROOT),
    ("media_sync/suroom", "delete_selected"): DELETE_SELECTED,
    ("media_sync/transferjob", "retry_failed"): Action(WITH_ROOT),
}
if not ORM_BROKER:
    del ACTIONS[("django_q/ormq", "delete_selected")]
