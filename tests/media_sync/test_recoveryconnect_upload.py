"""Recoveries mirrored on refresh, and photos uploaded to a recovery (rc_upload and the service), over real
HTTP to the RecoveryConnect simulator."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from integrations.recoveryconnect.simulator import DEMO_ORDERS, RecoveryConnectSimulator
from integrations.simkit import Faults, labelled_jpeg
from media_sync.models import (
    AuditEvent,
    AuditKind,
    ItemStatus,
    JobStatus,
    MediaFile,
    Operation,
    RecoveryConnectOrder,
    RecoveryConnectPhoto,
    RecoveryConnectRecovery,
    ThumbnailStatus,
    TransferJob,
)
from media_sync.services.demo import demo_orders_load
from media_sync.services.recoveryconnect import rc_refresh_start
from media_sync.services.recoveryconnect_upload import FOUND_AFTER_UNANSWERED, UploadSource, rc_upload_start
from media_sync.services.refusals import InputRefused
from media_sync.services.run import job_run
from tests.media_sync.factories import run_command

pytestmark = pytest.mark.django_db
ORDER, RECOVERY = 57076503, 10120166


def jpeg(label: str = "upload", *, taken: str | None = None) -> bytes:
    picture = Image.open(io.BytesIO(labelled_jpeg(label, "test", size=(120, 90))))
    out = io.BytesIO()
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    picture.save(out, "JPEG", exif=exif)
    return out.getvalue()


def refresh(order_id: int = ORDER) -> TransferJob:
    job = rc_refresh_start(order_ids=[order_id], triggered_by="ann", enqueue=False)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture
def order(rc_sim: RecoveryConnectSimulator) -> RecoveryConnectOrder:
    """At RecoveryConnect with one photo and one recovery, and mirrored by a refresh (which signs in)."""
    rc_sim.add_order(
        ORDER,
        9100001,
        photos=[{"id": 180461378, "name": "front.jpg", "type_id": 3, "type_name": "Front: Driver side"}],
        recoveries=[{"id": RECOVERY, "created_at": "2026-01-12 09:30:00"}],
    )
    assert refresh().status == JobStatus.SUCCEEDED
    return RecoveryConnectOrder.objects.get(order_id=ORDER)


def write(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def upload(order: RecoveryConnectOrder, *names: str, **options: Any) -> TransferJob:
    files = [
        UploadSource(
            source=SimpleUploadedFile(name, jpeg(name)),
            name=name,
            file_time=options.pop("at", timezone.now()),
        )
        for name in names
    ]
    job = rc_upload_start(order=order, files=files, triggered_by="olga", enqueue=False, **options)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


# --- The mirror -----------------------------------------------------------------------------------------


def test_a_refresh_mirrors_recoveries_and_each_photo_once_with_its_recovery(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder
) -> None:
    photo = rc_sim.orders[ORDER].photos[0]
    rc_sim.orders[ORDER].recoveries[0].photos.append(photo)  # listed on the order and on the recovery
    rc_sim.add_recovery(ORDER, id=10120167, created_at="2026-02-03 14:05:00", is_active=False)
    job = refresh()
    assert job.status == JobStatus.SUCCEEDED
    assert [
        (r.recovery_id, r.created_at_provider, r.is_active) for r in RecoveryConnectRecovery.objects.all()
    ] == [(RECOVERY, "2026-01-12 09:30:00", True), (10120167, "2026-02-03 14:05:00", False)]
    (row,) = RecoveryConnectPhoto.objects.all()
    assert row.recovery is not None and row.recovery.recovery_id == RECOVERY
    operations = list(
        AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP)
        .order_by("id")
        .values_list("operation", flat=True)
    )
    assert operations == ["list_photos", "list_recoveries", "list_recovery_photos", "list_recovery_photos"]
    # A recovery no longer listed is dropped; its photo stays, on the order only.
    rc_sim.orders[ORDER].recoveries.pop(0)
    refresh()
    assert list(RecoveryConnectRecovery.objects.values_list("recovery_id", flat=True)) == [10120167]
    assert RecoveryConnectPhoto.objects.get().recovery is None


def test_the_refresh_takes_as_many_queries_for_many_photos_as_for_few(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder, django_assert_max_num_queries: Any
) -> None:
    def queries_for(count: int) -> int:
        sim_order = rc_sim.orders[ORDER]
        sim_order.photos = [p for p in sim_order.photos if p.id == 180461378]
        rc_sim.add_order(
            57079000 + count, 9179000 + count, photos=[{"name": f"{n}.jpg"} for n in range(count)]
        )
        with CaptureQueriesContext(connection) as captured:
            refresh(57079000 + count)
        return len(captured)

    assert queries_for(25) == queries_for(2)


# --- Uploads ---------------------------------------------------------------------------------------------


def test_rc_upload_sends_each_file_with_its_exif_time_and_mirrors_it(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder, tmp_path: Path
) -> None:
    taken = write(tmp_path, "dash.jpg", jpeg("dash", taken="2025:06:07 08:09:10"))
    plain = write(tmp_path, "rear.jpg", jpeg("rear"))
    os.utime(plain, (1767225600, 1767225600))  # 2026-01-01 00:00:00 UTC
    code, out = run_command(
        "rc_upload", "--order", str(ORDER), "--file", taken, "--file", plain, "--type", "3", "--sync"
    )
    assert code == 0, out
    sent = {u["file_name"]: u for u in rc_sim.uploads}
    assert sent["dash.jpg"]["picture_time"] == "2025-06-07 08:09:10"  # EXIF DateTimeOriginal
    assert sent["rear.jpg"]["picture_time"] == "2026-01-01 00:00:00"  # the file's time
    assert sent["dash.jpg"]["image_name"] == "dash" and sent["dash.jpg"]["type"] == 3
    assert rc_sim.orders[ORDER].recoveries[0].photos[0].content == Path(taken).read_bytes()
    job = TransferJob.objects.get(operation=Operation.RC_UPLOAD_PHOTOS)
    for item in job.items.all():
        attachment_id = sent[item.item]["attachment_id"]
        assert item.status == ItemStatus.SUCCEEDED and item.reference == str(attachment_id)
        assert item.destination == str(RECOVERY)
        audit = AuditEvent.objects.get(job=job, kind=AuditKind.ITEM, item=item.item)
        assert audit.reference == str(attachment_id)
        photo = RecoveryConnectPhoto.objects.get(photo_id=attachment_id)
        assert photo.recovery is not None and photo.recovery.recovery_id == RECOVERY
        assert (photo.type_id, photo.type_name) == (3, "Front: Driver side")
        assert photo.thumbnail_status == ThumbnailStatus.READY and photo.thumbnail  # from our own copy
    fetched = AuditEvent.objects.filter(kind=AuditKind.HTTP, operation=Operation.FETCH_PHOTO)
    assert not fetched.exists()
    summary = AuditEvent.objects.get(
        job=job, kind=AuditKind.HTTP, operation=Operation.UPLOAD_PHOTO, item="dash.jpg"
    ).request_summary
    assert "bytes, base64>" in summary
    assert base64.b64encode(Path(taken).read_bytes())[:30].decode() not in summary


def test_caption_picture_time_and_personal_property(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder, tmp_path: Path
) -> None:
    path = write(tmp_path, "bag.jpg", jpeg("bag", taken="2025:06:07 08:09:10"))
    code, out = run_command(
        "rc_upload", "--order", str(ORDER), "--file", path, "--personal", "--caption", "Bag in trunk",
        "--picture-time", "2026-03-04 05:06:07", "--sync",
    )  # fmt: skip
    assert code == 0, out
    (sent,) = rc_sim.uploads
    assert sent["personal"] and sent["type"] is None and sent["image_name"] == "Bag in trunk"
    assert sent["picture_time"] == "2026-03-04 05:06:07"
    photo = RecoveryConnectPhoto.objects.get(photo_id=sent["attachment_id"])
    assert photo.personal and photo.recovery is not None
    refresh()  # listed on the order only: it keeps its recovery and its flag
    photo.refresh_from_db()
    assert photo.personal and photo.recovery is not None and photo.recovery.recovery_id == RECOVERY


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--picture-time", "yesterday"], "is not of the form YYYY-MM-DD HH:MM:SS"),
        (["--recovery", "999"], "recovery 999 is not a known recovery of order 57076503"),
        (["--type", "x"], "is not a photo type id"),
    ],
)
def test_bad_options_are_refused_before_anything(
    order: RecoveryConnectOrder, tmp_path: Path, arguments: list[str], expected: str, capsys: Any
) -> None:
    path = write(tmp_path, "a.jpg", jpeg())
    with pytest.raises(Exception) as caught:
        run_command("rc_upload", "--order", str(ORDER), "--file", path, *arguments, "--sync")
    assert getattr(caught.value, "returncode", None) == 2 and expected in str(caught.value)
    assert not MediaFile.objects.exists() and not TransferJob.objects.filter(
        operation=Operation.RC_UPLOAD_PHOTOS
    )
    assert AuditEvent.objects.filter(kind=AuditKind.REFUSAL, operation=Operation.RC_UPLOAD_PHOTOS).exists()


def test_one_file_not_a_picture_refuses_the_whole_request(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder, tmp_path: Path
) -> None:
    good = write(tmp_path, "good.jpg", jpeg())
    for name, content, reason in [
        (
            "bad.jpg",
            b"just some text, not a picture",
            "bad.jpg: the content is not a readable image/jpeg file",
        ),
        ("scan.pdf", b"%PDF-1.4\n%...", "scan.pdf: the content is application/pdf, not a picture"),
        ("cut.jpg", jpeg()[:1200], "cut.jpg: the file is not a readable picture"),
    ]:
        bad = write(tmp_path, name, content)
        with pytest.raises(Exception) as caught:
            run_command("rc_upload", "--order", str(ORDER), "--file", good, "--file", bad, "--sync")
        assert getattr(caught.value, "returncode", None) == 2
        assert reason in str(caught.value)
    assert rc_sim.uploads == [] and not MediaFile.objects.exists()


def test_a_file_over_the_limit_is_refused(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder, settings: Any
) -> None:
    settings.RECOVERYCONNECT_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(InputRefused, match=r"a.jpg: the file is .* MB; the limit is"):
        upload(order, "a.jpg")
    assert rc_sim.uploads == [] and not MediaFile.objects.exists()


def test_several_recoveries_are_refused_naming_them_and_one_may_be_chosen(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder
) -> None:
    rc_sim.add_recovery(ORDER, id=10120170, created_at="2026-02-03 14:05:00", is_active=False)
    refresh()
    with pytest.raises(InputRefused) as caught:
        upload(order, "a.jpg")
    assert str(caught.value) == (
        "order 57076503 has 2 recoveries: 10120166 (created 2026-01-12 09:30:00); "
        "10120170 (created 2026-02-03 14:05:00, inactive); choose one"
    )
    job = upload(order, "a.jpg", recovery_id=10120170)
    assert job.status == JobStatus.SUCCEEDED and rc_sim.uploads[0]["recovery_id"] == 10120170


def test_no_recovery_or_another_orders_recovery_is_refused(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder
) -> None:
    rc_sim.add_order(57076504, 9100002)
    refresh(57076504)
    other = RecoveryConnectOrder.objects.get(order_id=57076504)
    with pytest.raises(InputRefused, match=r"no recovery is known for order 57076504.*refresh the order"):
        upload(other, "a.jpg")
    with pytest.raises(InputRefused, match=r"recovery 10120166 is a recovery of Order 57076503"):
        upload(other, "a.jpg", recovery_id=RECOVERY)
    with pytest.raises(Exception) as caught:
        run_command("rc_upload", "--order", "57079999", "--file", __file__, "--sync")
    assert getattr(caught.value, "returncode", None) == 2  # an order never mirrored: no recovery known


def test_unknown_order_or_recovery_at_recoveryconnect_fails_the_item_with_its_404(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder, tmp_path: Path
) -> None:
    rc_sim.orders[ORDER].recoveries.clear()  # gone at RecoveryConnect since our refresh
    path = write(tmp_path, "a.jpg", jpeg())
    code, out = run_command("rc_upload", "--order", str(ORDER), "--file", path, "--sync")
    assert code == 1 and "a.jpg -> 10120166: failed [404] HTTP 404: Recovery not found." in out
    del rc_sim.orders[ORDER]
    job = upload(order, "b.jpg")
    item = job.items.get()
    assert (item.status, item.http_status, item.message) == (
        ItemStatus.FAILED,
        404,
        "HTTP 404: Order not found.",
    )


def test_a_provider_5xx_fails_the_item_after_its_retries(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder
) -> None:
    rc_sim.faults = Faults(error_rate=1.0)
    job = upload(order, "a.jpg")
    item = job.items.get()
    assert item.status == ItemStatus.FAILED and item.http_status in (500, 502, 503)
    assert rc_sim.uploads == []
    assert (
        AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation=Operation.UPLOAD_PHOTO).count() == 3
    )  # every attempt


def test_an_unanswered_upload_is_looked_up_and_not_sent_twice(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder, settings: Any
) -> None:
    settings.MEDIA_SYNC_HTTP_TIMEOUT = (2.0, 0.5)
    # RecoveryConnect takes 0.6 s over the next call and stores the photo; we stopped waiting at 0.5 s.
    rc_sim.faults = Faults(hang_burst=1, hang_s=0.6)
    job = upload(order, "a.jpg")
    assert job.status == JobStatus.SUCCEEDED
    assert len(rc_sim.uploads) == 1
    item = job.items.get()
    assert item.message == FOUND_AFTER_UNANSWERED and item.reference == str(
        rc_sim.uploads[0]["attachment_id"]
    )
    http_rows = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP).order_by("id")
    assert [(r.operation, r.outcome, r.failure_class) for r in http_rows] == [
        ("upload_photo", "failed", "timeout"),
        ("list_recovery_photos", "succeeded", ""),
    ]
    assert RecoveryConnectPhoto.objects.filter(photo_id=rc_sim.uploads[0]["attachment_id"]).exists()


def test_the_demo_mirrors_a_recovery_for_every_open_order(rc_sim: RecoveryConnectSimulator) -> None:
    rc_sim.seed_demo()
    job = demo_orders_load()
    assert job is not None and job.status == JobStatus.SUCCEEDED
    for order_id, _, closed in DEMO_ORDERS:
        count = RecoveryConnectRecovery.objects.filter(order__order_id=order_id).count()
        assert count == (0 if closed else 2 if order_id == ORDER else 1)


def test_an_unanswered_personal_upload_is_looked_up_among_the_orders_photos(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder, settings: Any
) -> None:
    settings.MEDIA_SYNC_HTTP_TIMEOUT = (2.0, 0.5)
    rc_sim.faults = Faults(hang_burst=1, hang_s=0.6)
    job = upload(order, "bag.jpg", personal=True)
    assert job.status == JobStatus.SUCCEEDED and len(rc_sim.uploads) == 1
    assert job.items.get().message == FOUND_AFTER_UNANSWERED
    operations = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP).order_by("id")
    assert [r.operation for r in operations] == ["upload_personal_photo", "list_photos"]
    assert RecoveryConnectPhoto.objects.get(photo_id=rc_sim.uploads[0]["attachment_id"]).personal


def test_two_files_of_one_name_or_a_name_too_long_are_refused(order: RecoveryConnectOrder) -> None:
    with pytest.raises(InputRefused, match=r"two files are named a\.jpg"):
        upload(order, "a.jpg", "a.jpg")
    with pytest.raises(InputRefused, match="at most 100 characters"):
        upload(order, "x" * 97 + ".jpg")
    assert not MediaFile.objects.exists()


def test_a_files_time_is_sent_in_recoveryconnects_zone(
    rc_sim: RecoveryConnectSimulator, order: RecoveryConnectOrder, tmp_path: Path, settings: Any
) -> None:
    settings.RECOVERYCONNECT_TIME_ZONE = "America/Chicago"
    path = write(tmp_path, "rear.jpg", jpeg("rear"))
    os.utime(path, (1767225600, 1767225600))  # 2026-01-01 00:00:00 UTC
    code, out = run_command("rc_upload", "--order", str(ORDER), "--file", path, "--sync")
    assert code == 0, out
    assert rc_sim.uploads[0]["picture_time"] == "2025-12-31 18:00:00"
