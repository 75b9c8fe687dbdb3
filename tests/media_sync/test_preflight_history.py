"""Pre-flight against our own history (issue 11, point 5): what this app already did is flagged before it
is done again. A RecoveryConnect photo already transferred to a destination, a file whose bytes are
already attached to a CorrigoPro work order: flagged, unticked, skipped by the commands unless asked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import CorrigoWorkOrder, RecoveryConnectOrder, RecoveryConnectPhoto, TransferJob
from media_sync.selectors import cp_uploads_of_file, rc_transfers_done
from media_sync.services.corrigopro import cp_upload_start
from media_sync.services.media import media_sha256
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from tests.media_sync.factories import login, order_on_both_sides, run_command

pytestmark = pytest.mark.django_db

PHOTOS = reverse("admin:media_sync_recoveryconnectphoto_changelist")
ORDERS = reverse("admin:media_sync_recoveryconnectorder_changelist")
JPEG = tiny_jpeg()


@pytest.fixture
def source(rc_sim: RecoveryConnectSimulator) -> RecoveryConnectOrder:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [180461378, 180461379])
    rc_sim.add_order(57076502, 9100002)
    rc_sim.add_order(57076510, 9100010)
    return order


def photo(photo_id: int) -> RecoveryConnectPhoto:
    return RecoveryConnectPhoto.objects.select_related("order").get(photo_id=photo_id)


def transferred_before(photo_id: int, destination: int, by: str = "ann") -> TransferJob:
    job = rc_transfer_photos_start(
        photos=[photo(photo_id)], destinations=[destination], triggered_by=by, enqueue=False
    )
    job_run(job_id=job.pk)
    assert job.items.get().status == "succeeded"
    return job


def checkbox(page: str, pk: int) -> str:
    found = re.search(rf'<input type="checkbox" name="include" value="{pk}"[^>]*>', page)
    assert found, pk
    return found.group(0)


def post(client: Client, url: str, action: str, selected: list[int], **data: Any) -> Any:
    return client.post(
        url, {"action": action, "_selected_action": [str(pk) for pk in selected], "apply": "1", **data}
    )


# --- The selectors -------------------------------------------------------------------------------------


def test_rc_history_names_only_pairs_that_succeeded(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    job = transferred_before(180461378, 9100002)
    rc_sim.orders[57076503].photos[1].locked = True
    failed = rc_transfer_photos_start(
        photos=[photo(180461379)], destinations=[9100002], triggered_by="x", enqueue=False
    )
    job_run(job_id=failed.pk)
    done = rc_transfers_done(photo_ids=[180461378, 180461379], destinations=[9100002, 9100010])
    assert list(done) == [(180461378, 9100002)]
    assert (done[180461378, 9100002].by, done[180461378, 9100002].job_id) == ("ann", job.pk)
    assert f"by ann (job {job.pk})" in str(done[180461378, 9100002])


def test_cp_history_is_the_same_bytes_on_the_same_work_order_still_attached(
    cp_sim: CorrigoProSimulator,
) -> None:
    cp_sim.add_work_order(1001)
    cp_sim.add_work_order(1002)
    work_order = CorrigoWorkOrder.objects.create(work_order_id=1001, status="Accepted")
    job = cp_upload_start(
        work_order=work_order,
        source=SimpleUploadedFile("after.jpg", JPEG),
        name="after.jpg",
        performed_by="Ann",
        triggered_by="ann",
        enqueue=False,
    )
    job_run(job_id=job.pk)
    sha = media_sha256(SimpleUploadedFile("x.jpg", JPEG))
    assert [(d.by, d.job_id) for d in cp_uploads_of_file(work_order_id=1001, sha256=sha)] == [("ann", job.pk)]
    assert cp_uploads_of_file(work_order_id=1002, sha256=sha) == []
    assert (
        cp_uploads_of_file(
            work_order_id=1001, sha256=media_sha256(SimpleUploadedFile("y.jpg", tiny_jpeg((1, 2, 3))))
        )
        == []
    )
    work_order.attachments.update(removed_at=timezone.now())
    assert cp_uploads_of_file(work_order_id=1001, sha256=sha) == []


# --- RecoveryConnect: the transfer confirmation page ---------------------------------------------------


def test_a_photo_already_transferred_there_is_flagged_with_when_and_by_whom_and_starts_unticked(
    client: Client, source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    before = transferred_before(180461378, 9100002)
    login(client, "olga", "Operators")
    done, new = photo(180461378), photo(180461379)
    page = post(client, PHOTOS, "transfer_photos", [done.pk, new.pk], destinations="9100002 9100010")
    assert page.status_code == 200 and TransferJob.objects.count() == 1  # nothing started yet
    assert "checked" not in checkbox(page.text, done.pk) and "checked" in checkbox(page.text, new.pk)
    assert "already transferred: to 9100002 on " in page.text and f"by ann (job {before.pk})" in page.text
    assert "not transferred to these orders yet" in page.text
    assert 'name="confirm"' in page.text and "9100002 9100010" in page.text  # the destinations are kept

    sent = len(rc_sim.transfers)
    started = post(
        client,
        PHOTOS,
        "transfer_photos",
        [done.pk, new.pk],
        destinations="9100002 9100010",
        confirm="1",
        include=[str(new.pk)],
    )
    job = TransferJob.objects.latest("pk")
    assert started.status_code == 302 and started["Location"].endswith(f"/{job.pk}/change/")
    job_run(job_id=job.pk)  # what the worker does once the job is committed
    assert sorted(job.items.values_list("item", "destination")) == [
        ("180461379", "9100002"),
        ("180461379", "9100010"),
    ]
    assert {(t.photo_id, t.dest_client_order_id) for t in rc_sim.transfers[sent:]} == {
        (180461379, 9100002),
        (180461379, 9100010),
    }


def test_ticking_a_flagged_photo_sends_it_again(client: Client, source: RecoveryConnectOrder) -> None:
    transferred_before(180461378, 9100002)
    login(client, "olga", "Operators")
    done = photo(180461378)
    started = post(
        client,
        PHOTOS,
        "transfer_photos",
        [done.pk],
        destinations="9100002",
        confirm="1",
        include=[str(done.pk)],
    )
    assert started.status_code == 302
    assert list(TransferJob.objects.latest("pk").items.values_list("item", "destination")) == [
        ("180461378", "9100002")
    ]


def test_unticking_everything_starts_nothing_and_says_why(
    client: Client, source: RecoveryConnectOrder
) -> None:
    transferred_before(180461378, 9100002)
    login(client, "olga", "Operators")
    page = post(client, PHOTOS, "transfer_photos", [photo(180461378).pk], destinations="9100002", confirm="1")
    assert page.status_code == 200 and "nothing left to send" in page.text
    assert TransferJob.objects.count() == 1 and "checked" not in checkbox(page.text, photo(180461378).pk)


def test_without_history_the_transfer_starts_at_once(client: Client, source: RecoveryConnectOrder) -> None:
    login(client, "olga", "Operators")
    started = post(client, PHOTOS, "transfer_photos", [photo(180461378).pk], destinations="9100002")
    assert started.status_code == 302 and TransferJob.objects.get().items.count() == 1


def test_transfer_all_with_a_photo_left_out_goes_photo_by_photo(
    client: Client, source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    transferred_before(180461378, 9100002)
    login(client, "olga", "Operators")
    page = post(client, ORDERS, "transfer_all_photos", [source.pk], destinations="9100002")
    assert page.status_code == 200 and "checked" not in checkbox(page.text, photo(180461378).pk)
    sent = len(rc_sim.transfers)
    started = post(
        client,
        ORDERS,
        "transfer_all_photos",
        [source.pk],
        destinations="9100002",
        confirm="1",
        include=[str(photo(180461379).pk)],
    )
    job = TransferJob.objects.latest("pk")
    assert started.status_code == 302 and job.operation == "rc_transfer_photos"
    job_run(job_id=job.pk)
    assert [(t.photo_id, t.dest_client_order_id) for t in rc_sim.transfers[sent:]] == [(180461379, 9100002)]


# --- RecoveryConnect: rc_transfer skips what was done unless --again ------------------------------------


def test_rc_transfer_skips_pairs_already_done_with_a_message(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    before = transferred_before(180461378, 9100002)
    code, out = run_command(
        "rc_transfer", "--order", "57076503", "--to", "9100002", "--to", "9100010", "--sync"
    )
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("180461378 -> 9100002: skipped, already transferred on ")
    assert lines[0].endswith(f"by ann (job {before.pk}) (--again sends it again)")
    job = TransferJob.objects.latest("pk")
    assert sorted(job.items.values_list("item", "destination")) == [
        ("180461378", "9100010"),
        ("180461379", "9100002"),
        ("180461379", "9100010"),
    ]


def test_rc_transfer_again_sends_them_again(source: RecoveryConnectOrder) -> None:
    transferred_before(180461378, 9100002)
    code, out = run_command(
        "rc_transfer", "--order", "57076503", "--to", "9100002", "--photo", "180461378", "--again", "--sync"
    )
    assert code == 0 and "skipped" not in out
    assert out.splitlines() == ["180461378 -> 9100002: succeeded [success]"]


def test_rc_transfer_with_everything_done_already_exits_2(source: RecoveryConnectOrder) -> None:
    transferred_before(180461378, 9100002)
    with pytest.raises(CommandError, match="nothing left to send") as refused:
        call_command(
            "rc_transfer", "--order", "57076503", "--to", "9100002", "--photo", "180461378", "--sync"
        )
    assert refused.value.returncode == 2 and TransferJob.objects.count() == 1


# --- CorrigoPro: the same bytes on the same work order --------------------------------------------------


def upload(client: Client, work_order: CorrigoWorkOrder, name: str, **more: str) -> Any:
    return client.post(
        reverse("admin:media_sync_corrigoworkorder_upload", args=[work_order.pk]),
        {"file": SimpleUploadedFile(name, JPEG, content_type="image/jpeg"), "performed_by": "Ann", **more},
    )


def test_a_file_already_attached_is_flagged_and_sent_only_when_ticked(
    client: Client, work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator
) -> None:
    login(client, "olga", "Operators")
    assert upload(client, work_order, "after.jpg").status_code == 302
    first = TransferJob.objects.get()
    job_run(job_id=first.pk)
    page = upload(client, work_order, "after-copy.jpg")
    assert page.status_code == 200
    assert "this file is already attached to work order 1001: uploaded on " in page.text
    assert f"by olga (job {first.pk})" in page.text
    anyway = re.search(r'<input type="checkbox" name="upload_anyway"[^>]*>', page.text)
    assert anyway and "checked" not in anyway.group(0)
    assert TransferJob.objects.count() == 1 and [u.name for u in cp_sim.uploads] == ["after.jpg"]
    assert upload(client, work_order, "after-copy.jpg", upload_anyway="on").status_code == 302
    job_run(job_id=TransferJob.objects.latest("pk").pk)
    assert [u.name for u in cp_sim.uploads] == ["after.jpg", "after-copy.jpg"]


def test_corrigo_upload_refuses_the_same_bytes_unless_upload_anyway(
    work_order: CorrigoWorkOrder, cp_sim: CorrigoProSimulator, tmp_path: Path
) -> None:
    path = tmp_path / "after.jpg"
    path.write_bytes(JPEG)
    assert run_command("corrigo_upload", "--work-order", "1001", "--file", str(path), "--sync")[0] == 0
    with pytest.raises(CommandError, match="already attached to work order 1001") as refused:
        call_command("corrigo_upload", "--work-order", "1001", "--file", str(path), "--sync")
    assert refused.value.returncode == 2 and len(cp_sim.uploads) == 1
    code, out = run_command(
        "corrigo_upload", "--work-order", "1001", "--file", str(path), "--upload-anyway", "--sync"
    )
    assert code == 0 and out.startswith("after.jpg -> 1001: succeeded") and len(cp_sim.uploads) == 2
