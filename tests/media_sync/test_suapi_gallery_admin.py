"""The Booking.com gallery's admin pages, over real HTTP to the SU API simulator: the property page in
Booking.com's order with tags by name, its up/down buttons and order form, a photo's tags form, a room's
photos and order, and the main photo's delete refused with a reason; operators run them, team leads read."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from integrations.suapi.simulator import DEMO_PHOTO_ID, DEMO_ROOM_ID, SuApiSimulator, demo_picture
from media_sync.models import (
    AuditEvent,
    ItemStatus,
    Operation,
    SuBatchPhoto,
    SuGalleryPhoto,
    SuProperty,
    SuRoom,
    TransferJob,
)
from media_sync.services.run import job_run
from media_sync.services.suapi import su_batch_start
from media_sync.services.suapi_gallery import su_gallery_sync_start
from media_sync.services.suapi_photos import su_photo_add
from tests.media_sync.factories import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def nt7(su_sim: SuApiSimulator) -> SuProperty:
    """NT7 mirrored: the demo photo (main, added outside), two more added outside, one of ours removed."""
    su_sim.seed_demo()
    hotel = SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615")
    su_sim.add_outside_photo("NT7", seed=71, tags=[13, 73], photo_id="OUT-1")
    su_sim.add_outside_photo("NT7", seed=72, photo_id="OUT-2")
    photo = su_photo_add(
        property=hotel,
        source=SimpleUploadedFile("old.jpg", demo_picture(30)),
        name="old.jpg",
        uploaded_by="o",
    )
    job = su_batch_start(property=hotel, photos=[photo], tags=[], triggered_by="olga", enqueue=False)
    SuBatchPhoto.objects.filter(batch__job=job).update(status="ok", booking_photo_id="GONE-1")
    job_run(job_id=su_gallery_sync_start(property=hotel, triggered_by="olga", enqueue=False).pk)
    return hotel


def page(client: Client, property: SuProperty) -> str:
    response = client.get(reverse("admin:media_sync_suproperty_change", args=[property.pk]))
    assert response.status_code == 200
    return response.text


def test_the_property_page_shows_the_gallery_in_booking_order_with_tag_names(
    operator: Client, nt7: SuProperty
) -> None:
    text = page(operator, nt7)
    gallery = text[text.index('id="gallery"') : text.index("Order the gallery by photo ids")]
    positions = [
        gallery.index(f"<td>{photo_id}</td>") for photo_id in (DEMO_PHOTO_ID, "OUT-1", "OUT-2", "GONE-1")
    ]
    assert positions == sorted(positions)  # main photo first, the removed one last
    assert "Main photo" in gallery and "Property building" in gallery and "Bed, Bathroom" in gallery
    assert gallery.count("Added outside this app") == 3
    assert "Sent from here; removed at Booking.com" in gallery
    assert 'class="thumb"' in gallery  # thumbnails, ours and from Booking.com's preview
    thumb = SuGalleryPhoto.objects.get(photo_id="OUT-1")
    served = operator.get(reverse("admin:media_sync_sugalleryphoto_thumbnail", args=[thumb.pk]))
    assert (served.status_code, served["Content-Type"]) == (200, "image/jpeg")
    assert 'aria-label="Move photo OUT-1 up"' in gallery and 'aria-label="Move photo OUT-1 down"' in gallery
    assert "<script" not in gallery and "style=" not in gallery  # the CSP allows neither inline


def test_down_moves_a_photo_at_booking_and_in_the_mirror(
    operator: Client, nt7: SuProperty, su_sim: SuApiSimulator, django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("admin:media_sync_suproperty_gallery_order", args=[nt7.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            url, {"photo_ids": f"OUT-1\n{DEMO_PHOTO_ID}\nOUT-2"}
        )  # the first row's "Down"
    job = TransferJob.objects.get(operation=Operation.SU_ORDER_PHOTOS)
    assert response.status_code == 302 and response["Location"].endswith(f"/transferjob/{job.pk}/change/")
    assert job.items.get().status == ItemStatus.SUCCEEDED
    assert [p.photo_id for p in su_sim.properties["NT7"].photos] == ["OUT-1", DEMO_PHOTO_ID, "OUT-2"]
    assert SuGalleryPhoto.objects.get(is_main=True).photo_id == "OUT-1"
    form = operator.get(url)
    assert form.status_code == 200 and f"OUT-1\n{DEMO_PHOTO_ID}\nOUT-2" in form.text


def test_the_tags_form_chooses_by_name_and_refuses_a_tag_not_in_the_list(
    operator: Client, nt7: SuProperty, su_sim: SuApiSimulator, django_capture_on_commit_callbacks: Any
) -> None:
    row = SuGalleryPhoto.objects.get(photo_id="OUT-2")
    url = reverse("admin:media_sync_sugalleryphoto_tags", args=[row.pk])
    form = operator.get(url)
    assert form.status_code == 200 and "Swimming pool</label>" in form.text
    calls = len(su_sim.log)
    refused = operator.post(url, {"tags": ["4242"]})
    assert refused.status_code == 200 and "Select a valid choice" in refused.text
    assert (
        len(su_sim.log) == calls and not TransferJob.objects.filter(operation=Operation.SU_SET_TAGS).exists()
    )
    assert AuditEvent.objects.filter(kind="refusal", operation=Operation.SU_SET_TAGS, item="OUT-2").exists()
    with django_capture_on_commit_callbacks(execute=True):
        sent = operator.post(url, {"tags": ["53", "80"]})
    assert sent.status_code == 302
    assert su_sim.properties["NT7"].find("OUT-2").tags == [53, 80]  # type: ignore[union-attr]
    assert "Swimming pool, Pool view" in page(operator, nt7)


def test_a_room_gets_photos_and_its_order_from_its_pages(
    operator: Client, nt7: SuProperty, su_sim: SuApiSimulator, django_capture_on_commit_callbacks: Any
) -> None:
    added = operator.post(
        reverse("admin:media_sync_suroom_add"),
        {"property": nt7.pk, "channel_room_id": DEMO_ROOM_ID, "name": "Double"},
    )
    assert added.status_code == 302
    room = SuRoom.objects.get()
    change = operator.get(reverse("admin:media_sync_suroom_change", args=[room.pk]))
    assert "Add or take out photos" in change.text and "Order the room&#x27;s photos" in change.text
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(
            reverse("admin:media_sync_suroom_photos", args=[room.pk]),
            {"change": "associate", "photo_ids": f"OUT-1, OUT-2 {DEMO_PHOTO_ID}"},
        )
        operator.post(reverse("admin:media_sync_suroom_order", args=[room.pk]), {"photo_ids": "OUT-2"})
        operator.post(
            reverse("admin:media_sync_suroom_photos", args=[room.pk]),
            {"change": "unassociate", "photo_ids": DEMO_PHOTO_ID},
        )
    assert su_sim.properties["NT7"].rooms[DEMO_ROOM_ID].photo_ids == ["OUT-2", "OUT-1"]
    room.refresh_from_db()
    assert room.photo_ids == ["OUT-2", "OUT-1"]
    assert "Double 1283761501 (NT7)</a>: OUT-2, OUT-1" in page(operator, nt7)


def test_the_main_photo_delete_is_explained_and_refused_before_any_call(
    operator: Client, su_sim: SuApiSimulator
) -> None:
    su_sim.seed_demo()
    hotel = SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615")
    photo = su_photo_add(
        property=hotel, source=SimpleUploadedFile("a.jpg", demo_picture(30)), name="a.jpg", uploaded_by="o"
    )
    job = su_batch_start(property=hotel, photos=[photo], tags=[], triggered_by="olga", enqueue=False)
    SuBatchPhoto.objects.filter(batch__job=job).update(status="ok", booking_photo_id=DEMO_PHOTO_ID)
    job_run(job_id=su_gallery_sync_start(property=hotel, triggered_by="olga", enqueue=False).pk)
    sent = SuBatchPhoto.objects.get()
    url = reverse("admin:media_sync_subatch_delete_photo", args=[sent.batch_id, sent.pk])
    shown = operator.get(url)
    assert "is the main photo of this property at Booking.com" in shown.text
    calls = len(su_sim.log)
    refused = operator.post(url)
    assert refused.status_code == 200 and "make another photo the main one first" in refused.text
    assert len(su_sim.log) == calls and su_sim.properties["NT7"].find(DEMO_PHOTO_ID) is not None
    assert AuditEvent.objects.filter(kind="refusal", operation=Operation.SU_DELETE).exists()


def test_team_leads_read_the_gallery_but_change_nothing(client: Client, nt7: SuProperty) -> None:
    login(client, "leo", "Team leads")
    text = page(client, nt7)
    assert "Bed, Bathroom" in text and "Move photo" not in text and "Change tags" not in text
    row = SuGalleryPhoto.objects.get(photo_id="OUT-1")
    for url in (
        reverse("admin:media_sync_suproperty_gallery_order", args=[nt7.pk]),
        reverse("admin:media_sync_sugalleryphoto_tags", args=[row.pk]),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, {"photo_ids": "OUT-1", "tags": ["13"]}).status_code == 403
    changelist = reverse("admin:media_sync_suproperty_changelist")
    client.post(changelist, {"action": "refresh_gallery", "_selected_action": [nt7.pk]})
    assert TransferJob.objects.filter(operation=Operation.SU_SYNC_GALLERY).count() == 1  # the fixture's
    assert client.get(reverse("admin:media_sync_suroom_add")).status_code == 403


def test_operators_refresh_the_gallery_from_the_property_list(
    operator: Client, nt7: SuProperty, su_sim: SuApiSimulator, django_capture_on_commit_callbacks: Any
) -> None:
    su_sim.remove_photo("NT7", "OUT-2")
    changelist = reverse("admin:media_sync_suproperty_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(changelist, {"action": "refresh_gallery", "_selected_action": [nt7.pk]})
    job = TransferJob.objects.filter(operation=Operation.SU_SYNC_GALLERY).latest("pk")
    assert response.status_code == 302 and job.items.get().status == ItemStatus.SUCCEEDED
    assert "Added outside this app; removed at Booking.com" in page(operator, nt7)
