"""The Booking.com gallery mirror over real HTTP to the SU API simulator: reconciliation's three cases,
tags by name, the order of a property and of a room, the main photo kept, the commands and schedules."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.suapi.simulator import DEMO_PHOTO_ID, DEMO_ROOM_ID, SuApiSimulator, demo_picture
from media_sync.models import (
    AuditEvent,
    GalleryOrigin,
    ItemStatus,
    Operation,
    SuBatch,
    SuBatchPhoto,
    SuGalleryPhoto,
    SuProperty,
    SuRoom,
    SuTag,
    ThumbnailStatus,
    TransferJob,
)
from media_sync.schedules import SCHEDULES
from media_sync.services.demo_gallery import demo_booking_gallery
from media_sync.services.refusals import InputRefused
from media_sync.services.run import job_run
from media_sync.services.suapi import su_batch_start, su_delete_start
from media_sync.services.suapi_gallery import su_galleries_refresh_all, su_gallery_sync_start, tag_names
from media_sync.services.suapi_gallery_jobs import su_order_start, su_set_tags_start
from media_sync.services.suapi_photos import su_photo_add
from media_sync.services.suapi_polls import su_poll_now
from media_sync.tasks import refresh_su_tags
from tests.media_sync.factories import run_command, su_waiting_batch

pytestmark = pytest.mark.django_db
HOTEL = ["--hotel", "NT7", "--channel-hotel", "12837615"]


@pytest.fixture
def nt7(su_sim: SuApiSimulator) -> SuProperty:
    su_sim.seed_demo()
    return SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615")


def sent_as(property: SuProperty, n: int, photo_id: str) -> SuBatchPhoto:
    """A photo of ours that Booking.com took (status ok) under `photo_id`, as polling records it."""
    photo = su_photo_add(
        property=property,
        source=SimpleUploadedFile(f"{n}.jpg", demo_picture(n)),
        name=f"{n}.jpg",
        uploaded_by="olga",
    )
    job = su_batch_start(property=property, photos=[photo], tags=[], triggered_by="olga", enqueue=False)
    SuBatchPhoto.objects.filter(batch__job=job).update(status="ok", booking_photo_id=photo_id)
    return SuBatchPhoto.objects.get(batch__job=job)


def refresh(property: SuProperty) -> TransferJob:
    job = job_run(job_id=su_gallery_sync_start(property=property, triggered_by="olga", enqueue=False).pk)
    assert job is not None
    return job


def test_reconciliation_links_ours_records_outside_and_marks_removed(
    nt7: SuProperty, su_sim: SuApiSimulator
) -> None:
    ours = sent_as(nt7, 30, DEMO_PHOTO_ID)
    gone = sent_as(nt7, 31, "GONE-1")  # Booking.com took it once, and no longer has it
    outside = su_sim.add_outside_photo("NT7", seed=70, tags=[13]).photo_id
    job = refresh(nt7)
    item = job.items.get()
    assert item.status == ItemStatus.SUCCEEDED
    assert item.message == (
        "2 photos at Booking.com: 1 sent from here, 1 added outside this app; 1 newly removed at Booking.com"
    )
    rows = {row.photo_id: row for row in SuGalleryPhoto.objects.all()}
    assert (rows[DEMO_PHOTO_ID].origin, rows[DEMO_PHOTO_ID].sent, rows[DEMO_PHOTO_ID].is_main) == (
        GalleryOrigin.SENT,
        ours,
        True,
    )
    assert (rows[outside].origin, rows[outside].tags, rows[outside].position) == (
        GalleryOrigin.OUTSIDE,
        [13],
        1,
    )
    # Its thumbnail was made from Booking.com's public preview; the link itself is stored nowhere.
    assert rows[outside].thumbnail_status == ThumbnailStatus.READY and rows[outside].thumbnail
    assert "samples" not in str(SuGalleryPhoto.objects.values_list())
    assert (rows["GONE-1"].origin, rows["GONE-1"].sent, rows["GONE-1"].removed_at is not None) == (
        GalleryOrigin.SENT,
        gone,
        True,
    )
    # The tag list was empty: the refresh filled it, so names show.
    assert SuTag.objects.get(tag_id=13).name == "Bed" and tag_names([13, 4242]) == [
        "Bed",
        "tag 4242 (not in the tag list)",
    ]

    su_sim.remove_photo("NT7", outside)  # removed at Booking.com by someone else
    refresh(nt7)
    row = SuGalleryPhoto.objects.get(photo_id=outside)
    assert row.removed_at is not None and not row.is_main  # kept, and shown as removed
    assert SuGalleryPhoto.objects.count() == 3


def test_an_empty_gallery_is_no_failure(nt7: SuProperty, su_sim: SuApiSimulator) -> None:
    nt8 = SuProperty.objects.create(hotel_id="NT8", channel_hotel_id="12837616")
    item = refresh(nt8).items.get()
    assert item.status == ItemStatus.SUCCEEDED and item.message.startswith("0 photos at Booking.com")


def test_an_unknown_property_fails_the_refresh_with_booking_reason(su_sim: SuApiSimulator) -> None:
    su_sim.seed_demo()
    unknown = SuProperty.objects.create(hotel_id="NT99", channel_hotel_id="1")
    item = refresh(unknown).items.get()
    assert (item.status, item.error_code) == (ItemStatus.FAILED, "400")
    assert "hotel code is not known" in item.message


def test_tags_by_name_and_their_refusals(nt7: SuProperty, su_sim: SuApiSimulator) -> None:
    refresh(nt7)
    job = su_set_tags_start(
        property=nt7, photo_id=DEMO_PHOTO_ID, tags=[13, 73], triggered_by="olga", enqueue=False
    )
    item = job_run(job_id=job.pk).items.get()  # type: ignore[union-attr]
    assert (item.status, item.message) == (ItemStatus.SUCCEEDED, "tags now: Bed, Bathroom")
    assert SuGalleryPhoto.objects.get(photo_id=DEMO_PHOTO_ID).tags == [13, 73]
    assert su_sim.properties["NT7"].find(DEMO_PHOTO_ID).tags == [13, 73]  # type: ignore[union-attr]
    calls = len(su_sim.log)
    with pytest.raises(InputRefused, match="Bed is named more than once"):
        su_set_tags_start(property=nt7, photo_id=DEMO_PHOTO_ID, tags=[13, 13], triggered_by="olga")
    with pytest.raises(InputRefused, match=r"tag 4242 is not in Booking\.com's tag list"):
        su_set_tags_start(property=nt7, photo_id=DEMO_PHOTO_ID, tags=[4242], triggered_by="olga")
    assert len(su_sim.log) == calls  # refused before sending


def test_booking_refusals_574_and_578_end_the_item_with_their_reason(
    nt7: SuProperty, su_sim: SuApiSimulator
) -> None:
    refresh(nt7)
    SuTag.objects.create(tag_id=4242, name="Ours only")  # a tag our list has and Booking.com does not
    unknown_tag = su_set_tags_start(
        property=nt7, photo_id=DEMO_PHOTO_ID, tags=[4242], triggered_by="o", enqueue=False
    )
    item = job_run(job_id=unknown_tag.pk).items.get()  # type: ignore[union-attr]
    assert (item.status, item.error_code) == (ItemStatus.FAILED, "574")
    assert item.message.startswith("an image tag is not valid (574: Invalid image tags: 4242")
    unknown_photo = su_set_tags_start(
        property=nt7, photo_id="nope", tags=[13], triggered_by="o", enqueue=False
    )
    item = job_run(job_id=unknown_photo.pk).items.get()  # type: ignore[union-attr]
    assert (item.status, item.error_code, item.message) == (
        ItemStatus.FAILED,
        "578",
        "no photo data found (578: Photos data not found)",
    )


def test_order_of_the_property_makes_the_first_main(nt7: SuProperty, su_sim: SuApiSimulator) -> None:
    a = su_sim.add_outside_photo("NT7", seed=71).photo_id
    b = su_sim.add_outside_photo("NT7", seed=72).photo_id
    refresh(nt7)
    job = su_order_start(property=nt7, photo_ids=[b, a], triggered_by="olga", enqueue=False)
    item = job_run(job_id=job.pk).items.get()  # type: ignore[union-attr]
    assert item.status == ItemStatus.SUCCEEDED and item.message.endswith(f"main photo {b}")
    assert [p.photo_id for p in su_sim.properties["NT7"].photos] == [b, a, DEMO_PHOTO_ID]
    mirrored = list(nt7.gallery.order_by("position").values_list("photo_id", "is_main"))
    assert mirrored == [(b, True), (a, False), (DEMO_PHOTO_ID, False)]
    refresh(nt7)  # Booking.com's own answer agrees
    assert list(nt7.gallery.order_by("position").values_list("photo_id", "is_main")) == mirrored
    with pytest.raises(InputRefused, match="named more than once"):
        su_order_start(property=nt7, photo_ids=[a, a], triggered_by="olga")


def test_a_room_associate_order_unassociate_by_command(nt7: SuProperty, su_sim: SuApiSimulator) -> None:
    a = su_sim.add_outside_photo("NT7", seed=71).photo_id
    room = ["--room", DEMO_ROOM_ID]
    code, out = run_command(
        "su_room_photos", *HOTEL, *room, "--associate", f"--photo={a}", f"--photo={DEMO_PHOTO_ID}", "--sync"
    )
    assert code == 0 and f"add to room {DEMO_ROOM_ID} -> NT7: succeeded" in out
    assert su_sim.properties["NT7"].rooms[DEMO_ROOM_ID].photo_ids == [a, DEMO_PHOTO_ID]
    code, out = run_command("su_order_photos", *HOTEL, *room, "--photo", DEMO_PHOTO_ID, "--sync")
    assert code == 0 and su_sim.properties["NT7"].rooms[DEMO_ROOM_ID].photo_ids == [DEMO_PHOTO_ID, a]
    assert SuRoom.objects.get().photo_ids == [DEMO_PHOTO_ID, a]
    # The property's own order is untouched.
    assert [p.photo_id for p in su_sim.properties["NT7"].photos] == [DEMO_PHOTO_ID, a]
    code, out = run_command("su_room_photos", *HOTEL, *room, "--unassociate", f"--photo={a}", "--sync")
    assert code == 0 and su_sim.properties["NT7"].rooms[DEMO_ROOM_ID].photo_ids == [DEMO_PHOTO_ID]
    code, out = run_command("su_room_photos", *HOTEL, *room, "--unassociate", f"--photo={a}", "--sync")
    assert code == 1 and "[578]" in out  # not in the room any more
    su_sim.properties["NT7"].rooms[DEMO_ROOM_ID].photo_ids = [a]  # changed at Booking.com meanwhile
    refresh(nt7)
    assert SuRoom.objects.get().photo_ids == [a]


def test_the_main_photo_is_refused_for_delete_before_any_call(
    nt7: SuProperty, su_sim: SuApiSimulator
) -> None:
    sent = sent_as(nt7, 30, DEMO_PHOTO_ID)
    refresh(nt7)
    calls = len(su_sim.log)
    with pytest.raises(InputRefused, match=r"is the main photo of this property at Booking\.com"):
        su_delete_start(sent=sent, triggered_by="olga")
    assert len(su_sim.log) == calls
    other = su_sim.add_outside_photo("NT7", seed=73).photo_id
    job_run(job_id=su_order_start(property=nt7, photo_ids=[other], triggered_by="o", enqueue=False).pk)
    deleted = job_run(job_id=su_delete_start(sent=sent, triggered_by="olga", enqueue=False).pk)
    assert deleted is not None and deleted.items.get().status == ItemStatus.SUCCEEDED


def test_commands_exit_codes(nt7: SuProperty, su_sim: SuApiSimulator) -> None:
    code, out = run_command("su_sync_gallery", *HOTEL, "--sync")
    assert code == 0 and "gallery of NT7 -> NT7: succeeded" in out
    code, out = run_command("su_set_tags", *HOTEL, "--photo", DEMO_PHOTO_ID, "--tag", "13", "--sync")
    assert code == 0 and "tags now: Bed" in out
    code, out = run_command("su_set_tags", *HOTEL, "--photo", "nope", "--tag", "13", "--sync")
    assert code == 1 and "[578]" in out
    code, out = run_command("su_order_photos", *HOTEL, "--photo", "nope", "--sync")
    assert code == 1
    code, out = run_command("su_sync_gallery", *HOTEL)
    assert code == 0 and out.startswith("job ") and out.strip().endswith("enqueued")
    for args, message in (
        (
            ["su_set_tags", *HOTEL, "--photo", DEMO_PHOTO_ID, "--tag", "13", "--tag", "13"],
            "named more than once",
        ),
        (["su_set_tags", *HOTEL, "--photo", DEMO_PHOTO_ID, "--tag", "4242"], "not in Booking.com's tag list"),
        (
            ["su_order_photos", "--hotel", "NT7", "--channel-hotel", "1", "--photo", "x"],
            "is mapped to channel hotel",
        ),
        (
            [
                "su_room_photos",
                "--hotel",
                "NEW",
                "--channel-hotel",
                "1",
                "--room",
                "R",
                "--associate",
                "--photo",
                "a",
                "--photo",
                "a",
            ],
            "named more than once",
        ),
    ):
        with pytest.raises(CommandError, match=message) as refused:
            call_command(*args, "--sync")
        assert refused.value.returncode == 2
    assert not SuProperty.objects.filter(hotel_id="NEW").exists()  # a refusal leaves nothing behind
    refusals = AuditEvent.objects.filter(kind="refusal").values_list("operation", flat=True)
    assert sorted(refusals) == sorted(
        [Operation.SU_SET_TAGS, Operation.SU_SET_TAGS, Operation.SU_ORDER_PHOTOS, Operation.SU_ROOM_PHOTOS]
    )


def test_schedules_refresh_every_gallery_and_the_tags_daily(
    nt7: SuProperty, su_sim: SuApiSimulator, django_capture_on_commit_callbacks: Any
) -> None:
    funcs = {schedule["func"]: schedule["schedule_type"] for schedule in SCHEDULES.values()}
    assert funcs["media_sync.tasks.refresh_su_galleries"] == "D"
    assert funcs["media_sync.tasks.refresh_su_tags"] == "D"
    SuProperty.objects.create(hotel_id="NT8", channel_hotel_id="12837616")
    with django_capture_on_commit_callbacks(execute=True):
        assert su_galleries_refresh_all() == 2  # tasks run in-process in tests
    jobs = TransferJob.objects.filter(operation=Operation.SU_SYNC_GALLERY)
    assert sorted(jobs.values_list("subject", "status")) == [
        ("property NT7", "succeeded"),
        ("property NT8", "succeeded"),
    ]
    SuTag.objects.all().delete()
    assert refresh_su_tags() == len(SuTag.objects.all()) > 20
    su_sim.faults.update({"error_rate": 1.0})
    assert refresh_su_tags() == 0 and SuTag.objects.exists()  # a failed refresh forgets nothing
    assert not SuBatch.objects.exists()


def test_the_demo_gallery_has_a_photo_added_outside_and_one_of_ours_removed(
    live_app: Any, settings: Any, su_sim: SuApiSimulator
) -> None:
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = live_app.url  # Booking.com fetches terrace.jpg from us
    su_sim.seed_demo()
    su_sim.enqueue_after_s = su_sim.process_after_s = 0
    job = demo_booking_gallery()
    assert job is not None and job.items.get().status == ItemStatus.SUCCEEDED
    rows = list(SuGalleryPhoto.objects.all())
    assert [(row.origin, row.removed_at is None) for row in rows] == [
        (GalleryOrigin.OUTSIDE, True),  # the simulator's own demo photo, the main one
        (GalleryOrigin.OUTSIDE, True),  # added outside this app
        (GalleryOrigin.SENT, False),  # terrace.jpg, ours, removed at Booking.com
    ]
    assert rows[2].sent is not None and rows[2].sent.photo is not None
    assert rows[2].sent.photo.media.original_name == "terrace.jpg"
    assert all(row.thumbnail_status == ThumbnailStatus.READY for row in rows[:2])


def test_a_photo_we_really_sent_lands_in_the_gallery_and_is_linked(
    live_app: Any, settings: Any, su_sim: SuApiSimulator
) -> None:
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = live_app.url
    batch = su_waiting_batch(su_sim)  # pool.jpg (new) and facade.jpg (a copy of the demo photo)
    su_sim.clock.advance(su_sim.process_after_s)
    su_poll_now(batch=batch)
    pool = batch.photos.get(item__item__contains="pool.jpg")
    pool.refresh_from_db()
    assert pool.status == "ok" and pool.booking_photo_id
    refresh(batch.property)
    rows = {row.photo_id: row for row in SuGalleryPhoto.objects.all()}
    assert set(rows) == {DEMO_PHOTO_ID, pool.booking_photo_id}  # the duplicate added nothing
    assert (rows[pool.booking_photo_id].origin, rows[pool.booking_photo_id].sent) == (
        GalleryOrigin.SENT,
        pool,
    )
    assert rows[DEMO_PHOTO_ID].origin == GalleryOrigin.OUTSIDE and rows[DEMO_PHOTO_ID].is_main


def test_a_gallery_refresh_through_a_provider_outage_fails_and_changes_nothing(
    nt7: SuProperty, su_sim: SuApiSimulator
) -> None:
    refresh(nt7)
    before = list(SuGalleryPhoto.objects.values_list("photo_id", "removed_at", "is_main"))
    su_sim.remove_photo("NT7", DEMO_PHOTO_ID)  # would be marked removed, if the refresh got through
    su_sim.faults.update({"error_rate": 1.0})
    item = refresh(nt7).items.get()
    assert item.status == ItemStatus.FAILED and item.http_status in (500, 502, 503)
    assert list(SuGalleryPhoto.objects.values_list("photo_id", "removed_at", "is_main")) == before
    assert AuditEvent.objects.filter(operation=Operation.RETRIEVE_ALL, outcome="failed").exists()


def test_a_photo_id_beginning_with_a_dash_is_given_with_an_equals_sign(
    nt7: SuProperty, su_sim: SuApiSimulator
) -> None:
    """Booking.com's ids are URL-safe base64: one in 64 begins with "-", which argparse takes for an option
    unless it is written --photo=ID (as the README says)."""
    dashed = su_sim.add_outside_photo("NT7", seed=72)
    su_sim.properties["NT7"].photos[-1].photo_id = "-4EU2z7oqUQ"
    assert dashed.photo_id == "-4EU2z7oqUQ"
    code, out = run_command(
        "su_order_photos", *HOTEL, "--photo=-4EU2z7oqUQ", f"--photo={DEMO_PHOTO_ID}", "--sync"
    )
    assert code == 0, out
    assert [p.photo_id for p in su_sim.properties["NT7"].photos][:2] == ["-4EU2z7oqUQ", DEMO_PHOTO_ID]
