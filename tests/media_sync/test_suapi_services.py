"""Booking.com photos: intake, pre-flight, batches followed to their end, against the simulator over HTTP.
The simulator downloads each photo from the app's own signed links, so the end-to-end tests run the app
on a live server."""

from __future__ import annotations

import functools
import hashlib
import io
import random
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from integrations.suapi.simulator import DEMO_PHOTO_ID, SuApiSimulator, demo_picture
from media_sync.models import (
    AuditEvent,
    AuditKind,
    BatchStatus,
    ItemStatus,
    JobStatus,
    MediaFile,
    SuBatch,
    SuPhoto,
    SuProperty,
    TransferJob,
)
from media_sync.services import suapi_photos
from media_sync.services.media import _dhash, hamming, media_link
from media_sync.services.refusals import InputRefused
from media_sync.services.run import job_run
from media_sync.services.suapi import su_batch_start, su_delete_start
from media_sync.services.suapi_photos import NEAR_DUPLICATE_BITS, su_photo_add, su_preflight
from media_sync.services.suapi_polls import su_batch_poll, su_poll_due

pytestmark = pytest.mark.django_db


def jpeg(size: tuple[int, int] = (800, 600), color: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


@functools.cache
def camera_jpeg(size: tuple[int, int], progressive: bool = False) -> bytes:
    """Photo-like: smooth colour blotches from seeded noise, so there is a real entropy stream to damage,
    and the same bytes every run."""
    width, height = size
    noise = random.Random(7).randbytes(width // 8 * height // 8 * 3)
    out = io.BytesIO()
    blotches = Image.frombytes("RGB", (width // 8, height // 8), noise).resize(size, Image.Resampling.BICUBIC)
    blotches.save(out, "JPEG", quality=90, progressive=progressive)
    return out.getvalue()


@pytest.fixture
def hotel(su_sim: SuApiSimulator) -> SuProperty:
    su_sim.seed_demo()  # NT7 already shows demo_picture(0) as photo DEMO_PHOTO_ID
    return SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615", name="Roadblue")


def add(hotel: SuProperty, content: bytes, name: str = "room.jpg") -> SuPhoto:
    return su_photo_add(
        property=hotel, source=SimpleUploadedFile(name, content), name=name, uploaded_by="olga"
    )


def send(
    hotel: SuProperty, photos: list[SuPhoto], urls: list[str] | None = None, tags: list[int] | None = None
) -> SuBatch:
    job = su_batch_start(
        property=hotel, photos=photos, urls=urls, tags=tags or [13], triggered_by="olga", enqueue=False
    )
    job_run(job_id=job.pk)
    return SuBatch.objects.get(job=job)


def statuses(batch: SuBatch) -> dict[str, tuple[str, str]]:
    return {sent.item.item: (sent.status, sent.item.status) for sent in batch.photos.select_related("item")}


# --- Intake and pre-flight ------------------------------------------------------------------------


def test_a_photo_comes_in_measured_with_hash_and_thumbnail(hotel: SuProperty) -> None:
    photo = add(hotel, demo_picture(1))
    assert (photo.image_format, photo.width, photo.height) == ("JPEG", 800, 600)
    assert len(photo.phash) == 16 and photo.media.sha256 == hashlib.sha256(demo_picture(1)).hexdigest()
    with photo.thumbnail.open("rb") as thumb:
        assert max(Image.open(thumb).size) <= 160


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"<html>not a picture</html>", "not a readable picture"),
        (jpeg((200, 150)), "200x150 pixels is outside Booking.com's 300x300"),
        (jpeg((14001, 300)), "14001x300 pixels is outside"),
    ],
)
def test_photos_booking_would_refuse_are_refused_at_intake(
    hotel: SuProperty, content: bytes, reason: str
) -> None:
    with pytest.raises(InputRefused, match=reason):
        add(hotel, content)
    assert not MediaFile.objects.exists()


def test_gif_is_refused_and_a_decompression_bomb_is_an_error(
    hotel: SuProperty, monkeypatch: pytest.MonkeyPatch
) -> None:
    gif = io.BytesIO()
    Image.new("RGB", (400, 400)).save(gif, "GIF")
    with pytest.raises(InputRefused, match="GIF format is not taken"):
        add(hotel, gif.getvalue(), "anim.gif")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # 800x600 = 480k pixels: over the (lowered) limit
    with pytest.raises(InputRefused, match="too large to decode safely"):
        add(hotel, demo_picture(2))


def test_a_picture_pillow_only_warns_about_is_refused_as_a_decompression_bomb(
    hotel: SuProperty, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between the limit and twice it Pillow only warns (twice it raises, as in the test above).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300_000)  # 800x600 = 480k pixels
    with pytest.raises(InputRefused, match="too large to decode safely"):
        add(hotel, demo_picture(2))
    assert not MediaFile.objects.exists()


def test_a_large_photo_keeps_its_real_size_and_hashes_like_its_full_size_decode(hotel: SuProperty) -> None:
    # Intake decodes a 12-megapixel JPEG at 1/8 scale: what it reports must not show it.
    content = camera_jpeg((4000, 3000))
    photo = add(hotel, content)
    assert (photo.width, photo.height) == (4000, 3000)
    with Image.open(io.BytesIO(content)) as full:
        full.load()
        assert hamming(photo.phash, _dhash(full)) <= NEAR_DUPLICATE_BITS
    with photo.thumbnail.open("rb") as thumb:
        assert Image.open(thumb).size == (160, 120)


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
@pytest.mark.parametrize("damage", ["cut at two thirds", "second start-of-image in the scan"])
def test_a_damaged_photo_is_refused_though_it_is_decoded_at_reduced_scale(
    hotel: SuProperty, damage: str, progressive: bool
) -> None:
    content = camera_jpeg((2600, 2600), progressive)  # 2600 px decodes at 1/8 scale
    middle = len(content) // 2
    damaged = {
        "cut at two thirds": content[: len(content) * 2 // 3],
        "second start-of-image in the scan": content[:middle] + b"\xff\xd8" + content[middle + 2 :],
    }[damage]
    with pytest.raises(OSError), Image.open(io.BytesIO(damaged)) as full:
        full.load()  # a full decode refuses it: so must intake
    add(hotel, content, "whole.jpg")  # the undamaged picture is taken
    with pytest.raises(InputRefused, match="not a readable picture"):
        add(hotel, damaged)
    assert MediaFile.objects.count() == 1


def test_preflight_flags_exact_and_near_duplicates(
    hotel: SuProperty, live_app: Any, settings: Any, su_sim: SuApiSimulator
) -> None:
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = live_app.url
    sent = add(hotel, demo_picture(3), "sent.jpg")
    send(hotel, [sent])
    again = add(hotel, demo_picture(3), "again.jpg")  # the same bytes
    near = Image.open(io.BytesIO(demo_picture(3))).resize((640, 480))
    resized = io.BytesIO()
    near.save(resized, "JPEG", quality=70)
    looks_alike = add(hotel, resized.getvalue(), "smaller.jpg")
    fresh = add(hotel, demo_picture(4), "fresh.jpg")
    twin = add(hotel, demo_picture(4), "twin.jpg")
    rows = {
        row.photo.pk: row for row in su_preflight(property=hotel, photos=[again, looks_alike, fresh, twin])
    }
    assert any("the same file as sent.jpg" in w for w in rows[again.pk].warnings)
    assert any("looks like sent.jpg" in w for w in rows[looks_alike.pk].warnings)
    assert rows[fresh.pk].warnings == [] and rows[fresh.pk].problems == []
    assert any("fresh.jpg" in w and "in this selection" in w for w in rows[twin.pk].warnings)


def test_the_299_photo_limit_refuses_the_batch(hotel: SuProperty, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suapi_photos, "MAX_PHOTOS", 1)
    photos = [add(hotel, demo_picture(5), "a.jpg"), add(hotel, demo_picture(6), "b.jpg")]
    with pytest.raises(InputRefused, match=r"would pass Booking\.com's 1"):
        su_batch_start(property=hotel, photos=photos, tags=[], triggered_by="olga", enqueue=False)
    assert not TransferJob.objects.exists()


# --- Signed links -----------------------------------------------------------------------------------


def test_a_signed_link_serves_the_file_and_a_wrong_or_expired_one_gets_403(
    hotel: SuProperty, client: Client
) -> None:
    photo = add(hotel, demo_picture(7))
    url = urlsplit(media_link(photo.media, ttl=60))
    path = f"{url.path}?{url.query}"
    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == demo_picture(7)  # type: ignore[attr-defined]
    assert client.get(path.replace("signature=", "signature=x")).status_code == 403
    expired = urlsplit(media_link(photo.media, ttl=-5))
    assert client.get(f"{expired.path}?{expired.query}").status_code == 403
    assert client.get(url.path).status_code == 403


def test_a_link_signed_before_the_key_was_rotated_still_serves_while_the_old_key_is_a_fallback(
    hotel: SuProperty, client: Client, settings: Any
) -> None:
    photo = add(hotel, demo_picture(7))
    url = urlsplit(media_link(photo.media, ttl=60))
    path = f"{url.path}?{url.query}"
    old_key, settings.SECRET_KEY = settings.SECRET_KEY, "a-new-key-" * 6
    assert client.get(path).status_code == 403  # rotated without a fallback: the link is dead
    settings.SECRET_KEY_FALLBACKS = [old_key]
    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == demo_picture(7)  # type: ignore[attr-defined]
    fresh = urlsplit(media_link(photo.media, ttl=60))  # new links are signed with the new key
    settings.SECRET_KEY_FALLBACKS = []
    assert client.get(f"{fresh.path}?{fresh.query}").status_code == 200


# --- A batch, end to end ------------------------------------------------------------------------------


@pytest.fixture
def live_links(live_app: Any, settings: Any) -> Any:
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = live_app.url
    return live_app


def test_a_batch_ends_with_every_photo_final_and_each_change_audited(
    hotel: SuProperty, su_sim: SuApiSimulator, live_links: Any
) -> None:
    good, other = add(hotel, demo_picture(8), "lobby.jpg"), add(hotel, demo_picture(9), "pool.jpg")
    copy = add(hotel, demo_picture(0), "facade.jpg")  # Booking.com already has this picture
    garbage = MediaFile.objects.create(
        original_name="broken.jpg", size=5, sha256="0" * 64, mime_type="image/jpeg"
    )
    garbage.file.save("broken.jpg", SimpleUploadedFile("broken.jpg", b"\xff\xd8 not really a jpeg"))
    batch = send(
        hotel,
        [good, other, copy],
        urls=["http://127.0.0.1:9/nothing-listens-here.jpg", media_link(garbage, ttl=600)],
    )
    assert batch.status == BatchStatus.POLLING and batch.batch_id
    assert batch.job.items.filter(status=ItemStatus.WAITING).count() == 5

    su_sim.clock.advance(3)
    su_batch_poll(batch_pk=batch.pk)  # new -> enqueued
    su_sim.clock.advance(10)
    su_batch_poll(batch_pk=batch.pk)  # processed: downloads from our signed links
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FINISHED
    assert sorted(s for s, _ in statuses(batch).values()) == [
        "bad_url",
        "duplicate",
        "error_decode",
        "ok",
        "ok",
    ]
    duplicate = batch.photos.get(photo=copy)
    assert duplicate.duplicate_of == DEMO_PHOTO_ID and duplicate.item.failure_class == "duplicate"
    lobby = batch.photos.get(photo=good)
    assert lobby.item.status == ItemStatus.SUCCEEDED and lobby.booking_photo_id
    job = TransferJob.objects.get(pk=batch.job_id)
    assert job.status == JobStatus.PARTLY_FAILED
    changes = AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM, item=lobby.item.item).order_by("id")
    assert [row.provider_status for row in changes] == ["new", "enqueued", "ok"]
    create = AuditEvent.objects.get(job=job, kind=AuditKind.HTTP, operation="create")
    assert "signature=" not in create.request_summary and "[redacted]" in create.request_summary
    first_change = changes.first()
    assert first_change is not None and first_change.reference  # the create's Ruid


def test_a_batch_not_final_when_its_pending_ids_expire_is_marked_expired(
    hotel: SuProperty, su_sim: SuApiSimulator, live_links: Any
) -> None:
    su_sim.stall = True
    batch = send(hotel, [add(hotel, demo_picture(10))])
    SuBatch.objects.filter(pk=batch.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    su_batch_poll(batch_pk=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPIRED and "seven days" in batch.status_reason
    item = batch.job.items.get()
    assert item.status == ItemStatus.FAILED and "pending ids expired" in item.message


def test_a_batch_the_provider_no_longer_knows_ends_with_its_message(
    hotel: SuProperty, su_sim: SuApiSimulator, live_links: Any
) -> None:
    su_sim.stall = True
    batch = send(hotel, [add(hotel, demo_picture(11))])
    su_sim.clock.advance(7 * 86400 + 1)
    su_batch_poll(batch_pk=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPIRED and "is not an accepted value" in batch.status_reason


def test_only_one_poller_at_a_time_and_only_due_batches(
    hotel: SuProperty, su_sim: SuApiSimulator, live_links: Any
) -> None:
    batch = send(hotel, [add(hotel, demo_picture(12))])
    assert su_poll_due() == 0  # the first poll is 30 s away
    SuBatch.objects.filter(pk=batch.pk).update(
        next_poll_at=timezone.now(), poll_lease_until=timezone.now() + timedelta(minutes=1)
    )
    calls = len(su_sim.log)
    assert su_poll_due() == 1
    assert len(su_sim.log) == calls  # another poller holds the lease: nothing was asked


@pytest.mark.parametrize(
    ("hotel_id", "channel", "tags", "code"),
    [("NT404", "12837615", [13], "400"), ("NT7", "999", [13], "573"), ("NT7", "12837615", [99999], "574")],
)
def test_create_refusals_fail_every_item_with_the_code(
    su_sim: SuApiSimulator, hotel_id: str, channel: str, tags: list[int], code: str
) -> None:
    su_sim.seed_demo()
    hotel = SuProperty.objects.create(hotel_id=hotel_id, channel_hotel_id=channel)
    batch = send(hotel, [add(hotel, demo_picture(13))], tags=tags)
    assert batch.status == BatchStatus.FAILED
    item = batch.job.items.get()
    assert (item.status, item.error_code) == (ItemStatus.FAILED, code)


def test_delete_a_processed_photo_from_booking(
    hotel: SuProperty, su_sim: SuApiSimulator, live_links: Any
) -> None:
    batch = send(hotel, [add(hotel, demo_picture(14))])
    su_sim.clock.advance(10)
    su_batch_poll(batch_pk=batch.pk)
    sent = batch.photos.get()
    assert sent.status == "ok"
    job = su_delete_start(sent=sent, triggered_by="olga", enqueue=False)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    sent.refresh_from_db()
    assert sent.status == "deleted"
    with pytest.raises(InputRefused, match=r"only a photo Booking\.com processed"):
        su_delete_start(sent=sent, triggered_by="olga", enqueue=False)


def test_a_url_without_a_file_name_is_labelled_by_its_host_not_its_query(su_sim: SuApiSimulator) -> None:
    hotel = SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615")
    job = su_batch_start(
        property=hotel,
        photos=[],
        urls=["https://cdn.example.com/?X-Amz-Signature=s3cr3t"],
        tags=[13],
        triggered_by="olga",
        enqueue=False,
    )
    assert job.items.get().item == "1. cdn.example.com"
