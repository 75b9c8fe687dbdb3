"""Bounds and clear errors (issue 11, point 6): the destination limit, refusals that name what they were
about, bad query parameters on every admin list, and the commands' --sync and mirror-first behaviour."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.suapi.client import SuApiClient
from integrations.suapi.simulator import SuApiSimulator, demo_picture
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoWorkOrder,
    GalleryOrigin,
    RecoveryConnectOrder,
    SavedView,
    SuBatch,
    SuGalleryPhoto,
    SuProperty,
    SuRoom,
    SuTag,
    TransferJob,
    WebhookDelivery,
)
from media_sync.services.items import item_finish
from media_sync.services.recoveryconnect import rc_transfer_all_start
from media_sync.services.refusals import InputRefused
from media_sync.services.suapi import su_batch_start
from media_sync.services.suapi_photos import su_photo_add
from tests.media_sync.factories import login, order_on_both_sides, run_command

pytestmark = pytest.mark.django_db

PHOTOS = reverse("admin:media_sync_recoveryconnectphoto_changelist")
ORDERS = reverse("admin:media_sync_recoveryconnectorder_changelist")


@pytest.fixture
def source(rc_sim: RecoveryConnectSimulator) -> RecoveryConnectOrder:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [180461378, 180461379])
    rc_sim.add_order(57076502, 9100002)
    return order


def refusal() -> AuditEvent:
    return AuditEvent.objects.get(kind=AuditKind.REFUSAL)


# --- At most MEDIA_SYNC_MAX_DESTINATIONS destinations --------------------------------------------------


def test_the_transfer_form_refuses_more_destinations_than_the_setting(
    client: Client, source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    login(client, "olga", "Operators")
    ids = [str(pk) for pk in source.photos.values_list("pk", flat=True)]
    response = client.post(
        PHOTOS,
        {
            "action": "transfer_photos",
            "_selected_action": ids,
            "apply": "1",
            "destinations": " ".join(str(9200000 + n) for n in range(5000)),
        },
    )
    assert response.status_code == 200
    assert "5000 destination orders given; one transfer takes at most 50: split it" in response.text
    assert not TransferJob.objects.exists() and rc_sim.log == []
    assert (refusal().subject, refusal().item) == ("order 57076503", "180461378, 180461379")


def test_fifty_destinations_are_taken_and_the_setting_moves_the_bound(
    client: Client, source: RecoveryConnectOrder, settings: Any
) -> None:
    login(client, "olga", "Operators")
    ids = [str(pk) for pk in source.photos.values_list("pk", flat=True)]
    post = {"action": "transfer_photos", "_selected_action": ids, "apply": "1"}
    fifty = " ".join(str(9200000 + n) for n in range(50))
    assert client.post(PHOTOS, {**post, "destinations": fifty}).status_code == 302
    assert TransferJob.objects.get().items.count() == 100
    settings.MEDIA_SYNC_MAX_DESTINATIONS = 3
    response = client.post(PHOTOS, {**post, "destinations": "9200001 9200002 9200003 9200004"})
    assert "4 destination orders given; one transfer takes at most 3" in response.text
    assert TransferJob.objects.count() == 1


def test_rc_transfer_refuses_too_many_destinations_with_exit_2(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator, settings: Any
) -> None:
    settings.MEDIA_SYNC_MAX_DESTINATIONS = 2
    with pytest.raises(CommandError, match=r"^3 destination orders given; one transfer takes at most 2") as e:
        call_command("rc_transfer", "--order", "57076503", "--to", "1", "--to", "2", "--to", "3", "--sync")
    assert e.value.returncode == 2 and "\n" not in str(e.value)
    assert not TransferJob.objects.exists() and rc_sim.log == []
    assert (refusal().subject, refusal().item) == ("order 57076503", "all photos")


def test_the_service_itself_refuses_too_many_destinations(source: RecoveryConnectOrder) -> None:
    with pytest.raises(InputRefused, match="51 destination orders given"):
        rc_transfer_all_start(order=source, destinations=list(range(1, 52)), triggered_by="x", enqueue=False)
    assert not TransferJob.objects.exists()


# --- Refusals name their subject and item --------------------------------------------------------------


def upload(client: Client, work_order: CorrigoWorkOrder, name: str, content: bytes) -> Any:
    return client.post(
        reverse("admin:media_sync_corrigoworkorder_upload", args=[work_order.pk]),
        {"file": SimpleUploadedFile(name, content, content_type="image/jpeg"), "performed_by": "Ann"},
    )


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("big.jpg", b"\xff\xd8\xff" + b"0" * (21 * 1024 * 1024), "the file is 21.0 MB; the limit is 20 MB"),
        ("empty.jpg", b"", "The submitted file is empty"),
        ("fake.jpg", b"no picture here", "not a readable image/jpeg"),
    ],
    ids=["21-MB", "empty", "bad-type"],
)
def test_a_refused_upload_is_in_the_audit_with_its_work_order_and_file_name(
    client: Client,
    work_order: CorrigoWorkOrder,
    cp_sim: CorrigoProSimulator,
    name: str,
    content: bytes,
    reason: str,
) -> None:
    login(client, "olga", "Operators")
    response = upload(client, work_order, name, content)
    assert response.status_code == 200 and reason in response.text
    row = refusal()
    assert (row.provider, row.operation, row.subject, row.item) == (
        "corrigopro",
        "cp_upload",
        "work order 1001",
        name,
    )
    assert reason in row.message and row.triggered_by == "olga"
    assert not TransferJob.objects.exists() and cp_sim.uploads == []


def test_a_refused_upload_command_names_the_work_order_and_file(
    cp_sim: CorrigoProSimulator, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(CommandError) as refused:
        call_command("corrigo_upload", "--work-order", "1001", "--file", str(empty), "--sync")
    assert refused.value.returncode == 2
    assert (refusal().subject, refusal().item) == ("work order 1001", "empty.jpg")


def test_a_refused_change_names_the_attachment(client: Client, work_order: CorrigoWorkOrder) -> None:
    attachment = work_order.attachments.create(
        attachment_id="0f8fad5b-d9cb-469f-a165-70867728950e", name="a.jpg"
    )
    login(client, "olga", "Operators")
    url = reverse("admin:media_sync_corrigoattachment_edit", args=[attachment.pk])
    response = client.post(url, {"name": "no-extension"})
    assert response.status_code == 200 and "needs a file extension" in response.text
    assert (refusal().operation, refusal().subject, refusal().item) == (
        "cp_update",
        "work order 1001",
        "a.jpg",
    )


def test_a_refused_transfer_of_all_photos_names_the_order(
    client: Client, source: RecoveryConnectOrder
) -> None:
    login(client, "olga", "Operators")
    response = client.post(
        ORDERS,
        {
            "action": "transfer_all_photos",
            "_selected_action": [str(source.pk)],
            "apply": "1",
            "destinations": "9100001",
        },
    )
    assert "is the source order itself" in response.text
    assert (refusal().operation, refusal().subject, refusal().item) == (
        "rc_transfer_all",
        "order 57076503",
        "all photos",
    )


def test_a_refused_booking_photo_names_the_property_and_file(client: Client, su_sim: SuApiSimulator) -> None:
    property = SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="1234567")
    login(client, "olga", "Operators")
    small = demo_picture(1, size=(100, 100))
    response = client.post(
        reverse("admin:media_sync_suphoto_add"),
        {
            "property": str(property.pk),
            "file": SimpleUploadedFile("small.jpg", small, content_type="image/jpeg"),
        },
        follow=True,
    )
    assert "Photo refused" in response.text
    assert (refusal().operation, refusal().subject, refusal().item) == (
        "su_photo_add",
        "property NT7",
        "small.jpg",
    )


def test_a_refused_batch_command_names_the_property_and_files(su_sim: SuApiSimulator, tmp_path: Path) -> None:
    photo = tmp_path / "lobby.jpg"
    photo.write_bytes(tiny_jpeg())  # 8x8: under Booking.com's 300x300
    with pytest.raises(CommandError) as refused:
        call_command(
            "su_create_batch", "--hotel", "NT7", "--channel-hotel", "1", "--file", str(photo), "--sync"
        )
    assert refused.value.returncode == 2
    assert (refusal().subject, refusal().item) == ("property NT7", "lobby.jpg")


def test_many_photos_are_named_by_their_count(client: Client, rc_sim: RecoveryConnectSimulator) -> None:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, list(range(180461300, 180461340)))
    login(client, "olga", "Operators")
    ids = [str(pk) for pk in order.photos.values_list("pk", flat=True)]
    client.post(
        PHOTOS, {"action": "transfer_photos", "_selected_action": ids, "apply": "1", "destinations": "x"}
    )
    assert (refusal().subject, refusal().item) == ("order 57076503", "40 photos")


# --- Bad query parameters: the list and a message, never a 500 or Django's "database error" page ------

BAD_QUERIES = {
    "p=-1": "The list could not be shown with p=-1",
    "p=0": "The list could not be shown with p=0",
    "p=99999": "The list could not be shown with p=99999",
    "p=x": "The page p=x is not a number",
    "o=99": "The sort order o=99 names no column",
    "o=x.-1": "The sort order o=x.-1 names no column",
    "no_such_field__exact=1": "The list could not be shown with no_such_field__exact=1",
    "created_at__gte=not-a-date": "The list could not be shown with created_at__gte=not-a-date",
    "received_at__day=40&received_at__month=2&received_at__year=2026": "received_at__day=40",
    "property__id__exact=abc&p=-1": "shown with p=-1, property__id__exact=abc",
}


@pytest.fixture
def world(rc_sim: RecoveryConnectSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two of everything each list shows, one per page, so paging is really in play."""
    for n in (1, 2):
        order = order_on_both_sides(rc_sim, 57076500 + n, 9100000 + n, [180461300 + n])
        order.documents.create(document_id=7300000 + n, name=f"{n}.pdf", uploaded_by="x")
        work_order = CorrigoWorkOrder.objects.create(work_order_id=1000 + n, status="Accepted")
        work_order.attachments.create(
            attachment_id=f"0f8fad5b-d9cb-469f-a165-70867728950{n}", name=f"{n}.jpg"
        )
        WebhookDelivery.objects.create(provider="corrigopro", message_id=f"m{n}", event_type="x", body={})
        property = SuProperty.objects.create(hotel_id=f"NT{n}", channel_hotel_id=str(n))
        photo = su_photo_add(
            property=property,
            source=ContentFile(demo_picture(n), name="a.jpg"),
            name=f"{n}.jpg",
            uploaded_by="x",
        )
        job = su_batch_start(property=property, photos=[photo], tags=[], triggered_by="x", enqueue=False)
        # Two failure groups (Open failures), one cause each.
        item_finish(item=job.items.get(), job=job, succeeded=False, message=f"{'ab'[n - 1]} went wrong")
        SuRoom.objects.create(property=property, channel_room_id=f"R{n}")
        SuGalleryPhoto.objects.create(property=property, photo_id=f"P{n}", origin=GalleryOrigin.OUTSIDE)
        SuTag.objects.create(tag_id=n, name=f"Tag {n}")
        assert order.photos.exists()
        owner = User.objects.get_or_create(username="ona")[0]
        SavedView.objects.create(
            name=f"View {n}", owner=owner, shared=True, changelist="media_sync.auditevent"
        )
    for model_admin in admin.site._registry.values():
        monkeypatch.setattr(model_admin, "list_per_page", 1)


def model_lists() -> list[str]:
    return [
        reverse(f"admin:media_sync_{model._meta.model_name}_changelist")
        for model in admin.site._registry
        if model._meta.app_label == "media_sync" and model is not AuditEvent  # the audit's own tests
    ]


@pytest.mark.parametrize("query", list(BAD_QUERIES))
@pytest.mark.parametrize("visitor", ["Operators", "Team leads"])
def test_every_list_answers_a_bad_query_with_the_list_and_a_message(
    client: Client, world: None, query: str, visitor: str
) -> None:
    login(client, "someone", visitor)
    lists = model_lists()
    assert len(lists) == 15  # failure groups and saved views among them
    for url in lists:
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200, url
        assert 'id="changelist"' in response.text, url
        assert BAD_QUERIES[query] in response.text, url
        assert "Database error" not in response.text


def test_every_filter_answers_a_value_it_does_not_offer(client: Client, world: None) -> None:
    login(client, "leo", "Team leads")
    tried = 0
    for url in model_lists():
        for spec in client.get(url).context["cl"].filter_specs:
            name = spec.expected_parameters()[0]
            response = client.get(f"{url}?{name}=no-such-value")
            assert response.status_code == 200 and 'id="changelist"' in response.text, (url, name)
            assert (
                f"offers no {name}=no-such-value" in response.text
                or f"could not be shown with {name}=no-such-value" in response.text
            ), (url, name)
            tried += 1
    assert tried >= 10


def test_a_good_query_keeps_its_filters_and_says_nothing(client: Client, world: None) -> None:
    login(client, "leo", "Team leads")
    url = reverse("admin:media_sync_corrigoworkorder_changelist")
    response = client.get(f"{url}?status=Accepted&p=2&o=0")
    assert response.status_code == 200 and "could not be shown" not in response.text
    assert "names no column" not in response.text and "offers no" not in response.text
    assert list(response.context["cl"].result_list.values_list("work_order_id", flat=True)) == [1002]


def test_a_bad_filter_is_dropped_but_the_search_is_kept(client: Client, world: None) -> None:
    login(client, "leo", "Team leads")
    url = reverse("admin:media_sync_recoveryconnectorder_changelist")
    response = client.get(f"{url}?q=57076502&bogus__exact=1")
    assert "The list could not be shown with bogus__exact=1" in response.text
    assert list(response.context["cl"].result_list.values_list("order_id", flat=True)) == [57076502]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=x", "There is no page x: page 1 is shown"),
        ("page=-1", "There is no page -1: page 1 is shown"),
        ("status=bogus", "There is no item status bogus: every item is shown"),
    ],
)
def test_the_job_page_answers_a_bad_query_with_the_page_and_a_message(
    client: Client, world: None, query: str, message: str
) -> None:
    login(client, "leo", "Team leads")
    job = TransferJob.objects.first()
    assert job is not None
    response = client.get(reverse("admin:media_sync_transferjob_change", args=[job.pk]) + f"?{query}")
    assert response.status_code == 200 and message in response.text


@pytest.mark.parametrize(
    "query", ["since=x&until=2026-02-30", "since=2026-12-01&until=2020-01-01", "p=-1&o=99"]
)
def test_the_dashboard_and_batch_pages_take_any_query(client: Client, world: None, query: str) -> None:
    login(client, "leo", "Team leads")
    batch = SuBatch.objects.first()
    assert batch is not None
    for url in (
        reverse("admin:media_sync_dashboard"),
        reverse("admin:media_sync_subatch_change", args=[batch.pk]),
    ):
        assert client.get(f"{url}?{query}").status_code == 200


# --- Commands: mirror first, follow a batch sent elsewhere, --sync everywhere ----------------------------


def test_rc_transfer_mirrors_an_order_not_mirrored_yet_with_its_list_calls(
    rc_sim: RecoveryConnectSimulator,
) -> None:
    rc_sim.add_order(57076520, 9100020, photos=[{"id": 180461400, "name": "front.jpg"}])
    rc_sim.add_order(57076502, 9100002)
    code, out = run_command("rc_transfer", "--order", "57076520", "--to", "9100002", "--sync")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("order 57076520 mirrored first (job ") and "1 photos listed: 1 new" in lines[0]
    assert lines[1:] == ["180461400 -> 9100002: succeeded [success]"]
    mirror = TransferJob.objects.get(operation="rc_sync_photos")
    calls = AuditEvent.objects.filter(job=mirror, kind=AuditKind.HTTP).exclude(operation="auth")
    # Its photos and its recoveries (it has none, so no recovery's photos are asked for).
    assert list(calls.order_by("id").values_list("operation", flat=True)) == [
        "list_photos",
        "list_recoveries",
    ]
    assert RecoveryConnectOrder.objects.get(order_id=57076520).photos.count() == 1


def test_rc_transfer_of_an_order_recoveryconnect_does_not_know_exits_1(
    rc_sim: RecoveryConnectSimulator,
) -> None:
    with pytest.raises(CommandError, match="order 123 could not be mirrored first") as failed:
        call_command("rc_transfer", "--order", "123", "--to", "9100002", "--sync")
    assert failed.value.returncode == 1
    assert list(TransferJob.objects.values_list("operation", flat=True)) == ["rc_sync_photos"]


def test_su_pending_records_and_follows_a_batch_sent_elsewhere(su_sim: SuApiSimulator, settings: Any) -> None:
    su_sim.seed_demo()
    client = SuApiClient(base_url=settings.SUAPI["BASE_URL"], app_id="demo-app", api_key="demo-key")
    created = client.create(
        hotel_id="NT7", channel_hotel_id="12837615", images=[("http://127.0.0.1:9/elsewhere.jpg", [])]
    )
    code, out = run_command(
        "su_pending", "--hotel", "NT7", "--channel-hotel", "12837615", f"--batch={created.batch_id}"
    )
    lines = out.splitlines()
    assert lines[0] == f"batch {created.batch_id} was not sent from here: recorded, and followed"
    assert lines[1].startswith("1. elsewhere.jpg -> NT7: waiting") and code == 0
    batch = SuBatch.objects.get(batch_id=created.batch_id)
    assert (
        batch.status == "polling"
        and batch.next_poll_at is not None
        and batch.job.operation == "su_follow_batch"
    )
    su_sim.clock.advance(10)
    code, out = run_command(
        "su_pending", "--hotel", "NT7", "--channel-hotel", "12837615", f"--batch={created.batch_id}"
    )
    assert "was not sent from here" not in out and SuBatch.objects.count() == 1
    assert out.splitlines()[0].startswith("1. elsewhere.jpg -> NT7: failed") and code == 1
    batch.refresh_from_db()
    assert batch.status == "finished" and batch.job.items.count() == 1


def test_every_command_takes_sync() -> None:
    commands = [name for name, app in get_commands().items() if app == "media_sync"]
    assert len(commands) >= 13
    for name in commands:
        parser = load_command_class("media_sync", name).create_parser("manage.py", name)
        assert any("--sync" in action.option_strings for action in parser._actions), name
