"""su_create_batch and su_pending as README.md's "Commands" says, and the Booking.com pages per role."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from PIL import Image

from integrations.suapi.simulator import SuApiSimulator, demo_picture
from media_sync.models import (
    AuditEvent,
    BatchStatus,
    SuBatch,
    SuBatchPhoto,
    SuPhoto,
    SuProperty,
    TransferItem,
    TransferJob,
)
from media_sync.services.suapi_photos import su_photo_add
from tests.media_sync.factories import login, run_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_links(live_app: Any, settings: Any, su_sim: SuApiSimulator) -> Any:
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = live_app.url
    su_sim.seed_demo()
    return live_app


@pytest.fixture
def pictures(tmp_path: Path) -> list[Path]:
    paths = []
    for n, name in ((20, "lobby.jpg"), (0, "facade.jpg")):
        path = tmp_path / name
        path.write_bytes(demo_picture(n))
        paths.append(path)
    return paths


def test_create_then_pending_until_every_photo_is_final(
    live_links: Any, su_sim: SuApiSimulator, pictures: list[Path]
) -> None:
    code, out = run_command(
        "su_create_batch",
        "--hotel",
        "NT7",
        "--channel-hotel",
        "12837615",
        "--file",
        str(pictures[0]),
        "--file",
        str(pictures[1]),
        "--tag",
        "13",
        "--sync",
    )
    batch = SuBatch.objects.get()
    assert code == 0
    assert (
        out.splitlines()[0]
        == f"1. lobby.jpg (800x600) -> NT7: waiting [new] in batch {batch.batch_id}; waiting for Booking.com"
    )
    su_sim.clock.advance(10)
    code, out = run_command(
        "su_pending", "--hotel", "NT7", "--channel-hotel", "12837615", f"--batch={batch.batch_id}"
    )
    assert code == 1  # the facade is a duplicate of a photo Booking.com already has
    lines = out.splitlines()
    assert lines[0].startswith("1. lobby.jpg (800x600) -> NT7: succeeded [ok] photo ")
    assert lines[1].startswith(
        "2. facade.jpg (800x600) -> NT7: failed [duplicate] This is a duplicate photo."
    )
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FINISHED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--file", "/nonexistent/x.jpg"], "is not a readable file"),
        (["--url", "ftp://example/x.jpg"], "is not an http\\(s\\) URL"),
    ],
)
def test_create_refusals_exit_2_and_leave_nothing(
    su_sim: SuApiSimulator, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message) as refused:
        call_command("su_create_batch", "--hotel", "NT7", "--channel-hotel", "12837615", *args, "--sync")
    assert refused.value.returncode == 2
    assert not SuProperty.objects.exists() and not TransferJob.objects.exists()
    assert AuditEvent.objects.get().kind == "refusal"


def test_create_refuses_a_picture_booking_would_refuse(su_sim: SuApiSimulator, tmp_path: Path) -> None:
    small = tmp_path / "tiny.jpg"
    small.write_bytes(demo_picture(1, size=(200, 200)))
    with pytest.raises(CommandError, match="200x200 pixels is outside") as refused:
        call_command("su_create_batch", "--hotel", "NT7", "--channel-hotel", "1", "--file", str(small))
    assert refused.value.returncode == 2 and not SuPhoto.objects.exists()


def test_pending_of_a_batch_the_su_api_does_not_know_exits_1(su_sim: SuApiSimulator) -> None:
    # A batch id from elsewhere is followed (test_bounds.py); one the SU API does not know ends at once.
    su_sim.seed_demo()
    code, out = run_command("su_pending", "--hotel", "NT7", "--channel-hotel", "12837615", "--batch", "nope")
    assert code == 1 and "batch nope: expired (the SU API no longer knows the batch: " in out
    assert SuBatch.objects.get().status == BatchStatus.EXPIRED  # no longer polled


def test_pending_with_empty_names_exits_2(su_sim: SuApiSimulator) -> None:
    with pytest.raises(CommandError, match="must not be empty") as refused:
        call_command("su_pending", "--hotel", " ", "--channel-hotel", "12837615", "--batch", "nope")
    assert refused.value.returncode == 2


# --- Admin -------------------------------------------------------------------------------------------


@pytest.fixture
def hotel(su_sim: SuApiSimulator) -> SuProperty:
    su_sim.seed_demo()
    return SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615")


def photo(hotel: SuProperty, n: int, name: str) -> SuPhoto:
    return su_photo_add(
        property=hotel, source=SimpleUploadedFile(name, demo_picture(n)), name=name, uploaded_by="olga"
    )


def test_operator_adds_a_photo_and_sends_it_through_the_preflight_form(
    client: Client,
    hotel: SuProperty,
    su_sim: SuApiSimulator,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    login(client, "olga", "Operators")
    added = client.post(
        reverse("admin:media_sync_suphoto_add"),
        {"property": hotel.pk, "file": SimpleUploadedFile("pool.jpg", demo_picture(21))},
    )
    assert added.status_code == 302
    first = SuPhoto.objects.get()
    twin = photo(hotel, 21, "pool-again.jpg")
    changelist = reverse("admin:media_sync_suphoto_changelist")
    assert 'class="thumb"' in client.get(changelist).text
    thumb = client.get(reverse("admin:media_sync_suphoto_thumbnail", args=[first.pk]))
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"

    form = client.post(changelist, {"action": "send_to_booking", "_selected_action": [first.pk, twin.pk]})
    assert "duplicate: the same file as pool" in form.text and "(in this selection)" in form.text
    # Tags are chosen by name (Booking.com's tag list, filled when the form is first shown).
    assert '<input type="checkbox" name="tags" value="13"' in form.text and "Bed</label>" in form.text
    assert form.text.count("checked></td>") == 1  # the flagged copy starts unticked
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            changelist,
            {
                "action": "send_to_booking",
                "_selected_action": [first.pk, twin.pk],
                "apply": "1",
                "include": [str(first.pk)],
                "tags": ["13", "80"],
            },
        )
    batch = SuBatch.objects.get()
    assert sent.status_code == 302 and batch.status == BatchStatus.POLLING and batch.tags == [13, 80]
    assert batch.photos.count() == 1
    page = client.get(reverse("admin:media_sync_subatch_change", args=[batch.pk]))
    assert "Refresh status now" in page.text and batch.batch_id in page.text
    assert "<td>Bed, Pool view</td>" in page.text  # the batch's tags, by name
    assert client.post(reverse("admin:media_sync_subatch_refresh", args=[batch.pk])).status_code == 302


def test_team_lead_reads_batches_but_cannot_send_or_refresh(client: Client, hotel: SuProperty) -> None:
    login(client, "leo", "Team leads")
    one = photo(hotel, 22, "a.jpg")
    changelist = reverse("admin:media_sync_suphoto_changelist")
    assert client.get(changelist).status_code == 200
    client.post(
        changelist,
        {"action": "send_to_booking", "_selected_action": [one.pk], "apply": "1", "include": [str(one.pk)]},
    )
    assert not SuBatch.objects.exists()
    assert client.get(reverse("admin:media_sync_suphoto_add")).status_code == 403


def test_staff_without_a_role_get_nothing(client: Client, hotel: SuProperty) -> None:
    one = photo(hotel, 23, "a.jpg")
    login(client, "sam")
    for url in (
        reverse("admin:media_sync_suphoto_changelist"),
        reverse("admin:media_sync_suproperty_changelist"),
        reverse("admin:media_sync_suphoto_thumbnail", args=[one.pk]),
    ):
        assert client.get(url).status_code == 403


def test_a_photo_sent_by_its_url_shows_a_placeholder_saying_so(client: Client, hotel: SuProperty) -> None:
    job = TransferJob.objects.create(
        provider="suapi", operation="su_create_batch", subject="property H", triggered_by="olga"
    )
    batch = SuBatch.objects.create(property=hotel, job=job, batch_id="B1", status=BatchStatus.POLLING)
    item = TransferItem.objects.create(job=job, item="1. facade.jpg", status="waiting")
    SuBatchPhoto.objects.create(batch=batch, item=item, url_path="/photos/facade.jpg")
    login(client, "leo", "Team leads")
    page = client.get(reverse("admin:media_sync_subatch_change", args=[batch.pk])).text
    assert 'aria-label="facade.jpg: sent by its URL: no copy is held here"' in page
    assert ">Sent by link</span>" in page


def test_a_booking_photo_opens_larger_from_its_thumbnail_made_on_first_view(
    client: Client, hotel: SuProperty
) -> None:
    big = su_photo_add(
        property=hotel,
        source=SimpleUploadedFile("lobby.jpg", demo_picture(30, (2400, 1600))),
        name="lobby.jpg",
        uploaded_by="olga",
    )
    preview_url = reverse("admin:media_sync_suphoto_preview", args=[big.pk])
    assert client.get(preview_url).status_code == 302  # to the login page
    login(client, "leo", "Team leads")
    page = client.get(reverse("admin:media_sync_suphoto_change", args=[big.pk])).text
    assert f'<a href="{preview_url}" class="thumb-link"' in page  # the thumbnail opens it
    assert not SuPhoto.objects.get(pk=big.pk).preview  # nothing made until someone looks
    answer = client.get(preview_url)
    assert answer.status_code == 200 and answer["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(answer.streaming_content))) as shown:  # type: ignore[attr-defined]
        assert shown.size == (1024, 683)
    stored = SuPhoto.objects.get(pk=big.pk).preview.name
    assert stored and client.get(preview_url).status_code == 200
    assert SuPhoto.objects.get(pk=big.pk).preview.name == stored  # made once
