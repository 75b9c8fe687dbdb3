"""Media on S3 through django-storages, against a local S3 server (moto's server mode) on loopback: files land
in the bucket and not on local disk, CorrigoPro uploads stream from the bucket (a retry reads it again),
Booking.com downloads photos from S3's own pre-signed links, and those links carry a signature, never the
secret key. moto checks neither signatures nor expiry, so the links' shape is asserted instead."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from storages.backends.s3 import S3Storage

from integrations.corrigopro.simulator import CorrigoProSimulator
from integrations.simkit import Faults
from integrations.suapi.simulator import Fetched, SuApiSimulator, demo_picture, picture_fingerprint
from integrations.suapi.simulator import pictures as su_simulator_module
from media_sync.models import (
    AuditEvent,
    AuditKind,
    BatchStatus,
    CorrigoAttachment,
    CorrigoWorkOrder,
    ItemStatus,
    JobStatus,
    MediaFile,
    SuBatch,
    SuProperty,
    ThumbnailStatus,
)
from media_sync.services.corrigopro import cp_sync_start, cp_upload_start
from media_sync.services.media import media_file_store, media_link
from media_sync.services.run import job_run
from media_sync.services.suapi import su_batch_start
from media_sync.services.suapi_photos import su_photo_add
from media_sync.services.suapi_polls import su_batch_poll
from tests.media_sync.s3server import (  # noqa: F401  (the fixtures s3_bucket, s3_deadline, s3_endpoint)
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    Bucket,
    s3_bucket_made,
    s3_deadline_set,
    s3_endpoint_started,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("s3_deadline")]


@pytest.fixture
def s3(s3_bucket: Bucket, settings: Any) -> Bucket:
    """A fresh bucket, and the app's media on it, configured the way config/settings.py does from the
    environment."""
    # Last: changing STORAGES makes Django drop the storage it built, so the next use reads the AWS_* ones.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
    }
    assert isinstance(default_storage, S3Storage) and default_storage.bucket_name == s3_bucket.name
    return s3_bucket


def local_files(settings: Any) -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def store(content: bytes, name: str = "lobby.jpg") -> MediaFile:
    return media_file_store(
        source=SimpleUploadedFile(name, content), name=name, mime_type="image/jpeg", uploaded_by="olga"
    )


# --- Storing ------------------------------------------------------------------------------------------


def test_a_stored_file_is_an_object_in_the_bucket_and_nothing_is_written_locally(
    s3: Bucket, settings: Any
) -> None:
    content = demo_picture(21)
    media = store(content)
    head = s3.client.head_object(Bucket=s3.name, Key=media.file.name)
    assert head["ContentLength"] == len(content) == media.size
    assert head["ContentType"] == "image/jpeg"
    assert s3.keys() == [media.file.name]
    assert s3.read(media.file.name) == content
    assert media.sha256 == hashlib.sha256(content).hexdigest()
    assert local_files(settings) == []


def test_two_files_of_the_same_name_keep_their_own_content_on_s3(s3: Bucket) -> None:
    # django-storages overwrites an object of the same key unless told not to: the first file would be lost.
    first, second = store(demo_picture(31), "room.jpg"), store(demo_picture(32), "room.jpg")
    assert first.file.name != second.file.name
    assert s3.read(first.file.name) == demo_picture(31)
    assert s3.read(second.file.name) == demo_picture(32)
    assert s3.keys() == sorted([first.file.name, second.file.name])


# --- CorrigoPro: the upload streams from S3 -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fault_fields", "first_answer"),
    [
        pytest.param({"rate_limit_burst": 1}, (429, "rate_limit"), id="429"),
        # Seed 1 draws 0.13 then 0.85: the first request is dropped, the second goes through.
        pytest.param({"drop_rate": 0.5, "seed": 1}, ("dropped", "drop"), id="dropped-connection"),
    ],
)
def test_an_upload_retried_after_a_transient_failure_reads_the_file_from_s3_again(
    s3: Bucket,
    settings: Any,
    work_order: CorrigoWorkOrder,
    cp_sim: CorrigoProSimulator,
    monkeypatch: pytest.MonkeyPatch,
    fault_fields: dict[str, Any],
    first_answer: tuple[int | str, str],
) -> None:
    content = demo_picture(41, (1600, 1200))  # many 8 KB reads, not one
    job = cp_upload_start(
        work_order=work_order,
        source=SimpleUploadedFile("after.jpg", content),
        name="after.jpg",
        performed_by="Ann Tech",
        triggered_by="olga",
        enqueue=False,
    )
    media = MediaFile.objects.get()
    assert s3.read(media.file.name) == content and local_files(settings) == []

    # A token first, so the fault below lands on the upload itself and not on the token request.
    job_run(job_id=cp_sync_start(work_order_ids=[1001], triggered_by="olga", enqueue=False).pk)
    opened: list[str] = []
    real_open = S3Storage._open

    def counting_open(storage: Any, name: str, mode: str = "rb") -> Any:
        opened.append(name)
        return real_open(storage, name, mode)

    monkeypatch.setattr(S3Storage, "_open", counting_open)
    cp_sim.faults = Faults(**fault_fields)  # built here: a burst is used up as it is served

    job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.items.get().status == ItemStatus.SUCCEEDED
    uploads = [(e.status, e.fault) for e in cp_sim.log if (e.method, e.path) == ("POST", "/api/attachments")]
    assert uploads == [first_answer, (200, None)]
    assert opened == [media.file.name, media.file.name]  # one fresh read from the bucket per attempt
    (upload,) = cp_sim.uploads  # sent once
    stored = cp_sim.attachment(upload.attachment_id)
    assert stored is not None and stored.content == content and upload.size == len(content)
    attempts = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation="upload_attachment")
    assert sorted(attempts.values_list("attempt", flat=True)) == [1, 2]


def test_a_kept_copy_of_a_corrigopro_attachment_is_streamed_into_the_bucket(
    s3: Bucket, settings: Any, cp_sim: CorrigoProSimulator, django_capture_on_commit_callbacks: Any
) -> None:
    content = demo_picture(42, (1600, 1200))  # many 64 KB chunks, not one
    cp_sim.add_work_order(1002, attachments=[{"name": "leak.jpg", "content": content}])
    with django_capture_on_commit_callbacks(execute=True):  # the keep job, queued on commit, runs here
        job_run(job_id=cp_sync_start(work_order_ids=[1002], triggered_by="olga", enqueue=False).pk)
    attachment = CorrigoAttachment.objects.select_related("kept_file").get()
    media = attachment.kept_file
    assert media is not None and media.sha256 == hashlib.sha256(content).hexdigest()
    head = s3.client.head_object(Bucket=s3.name, Key=media.file.name)
    assert (head["ContentType"], head["ContentLength"]) == ("image/jpeg", len(content))
    assert s3.read(media.file.name) == content
    # Its thumbnail was made from our copy in the bucket, and nothing was written to local disk.
    assert attachment.thumbnail_status == ThumbnailStatus.READY and s3.read(attachment.thumbnail.name)
    assert local_files(settings) == []


# --- Booking.com: photos fetched from S3 pre-signed links --------------------------------------------


def test_a_booking_batch_sends_s3_presigned_links_the_provider_downloads(
    s3: Bucket, settings: Any, su_sim: SuApiSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    su_sim.add_property("S3H", "9001")
    hotel = SuProperty.objects.create(hotel_id="S3H", channel_hotel_id="9001", name="Bucket Inn")
    content = demo_picture(51)
    photo = su_photo_add(
        property=hotel, source=SimpleUploadedFile("pool.jpg", content), name="pool.jpg", uploaded_by="olga"
    )
    assert s3.keys() == sorted([photo.media.file.name, photo.thumbnail.name])
    assert local_files(settings) == []

    downloaded: list[tuple[str, bytes | Fetched]] = []
    real_download = su_simulator_module._download

    def recording_download(url: str, max_bytes: int) -> bytes | Fetched:
        result = real_download(url, max_bytes)
        downloaded.append((url, result))
        return result

    monkeypatch.setattr(su_simulator_module, "_download", recording_download)

    job = su_batch_start(property=hotel, photos=[photo], tags=[53], triggered_by="olga", enqueue=False)
    job_run(job_id=job.pk)
    batch = SuBatch.objects.get(job=job)
    assert batch.status == BatchStatus.POLLING
    su_sim.clock.advance(10)  # past the simulator's processing time: the next poll makes it download
    su_batch_poll(batch_pk=batch.pk)

    ((url, received),) = downloaded
    assert received == content  # the simulator fetched the very bytes, over HTTP from the bucket
    link = urlsplit(url)
    assert f"{link.scheme}://{link.netloc}" == s3.endpoint
    assert link.path == f"/{s3.name}/{photo.media.file.name}"
    assert "X-Amz-Signature" in parse_qs(link.query)
    assert su_sim.downloads == [(url, "ok")]
    (on_booking,) = su_sim.properties["S3H"].photos
    assert on_booking.url == url and on_booking.fingerprint == picture_fingerprint(content)

    batch.refresh_from_db()
    sent = batch.photos.select_related("item").get()
    assert batch.status == BatchStatus.FINISHED
    assert (sent.status, sent.item.status) == ("ok", ItemStatus.SUCCEEDED)
    assert sent.booking_photo_id == on_booking.photo_id and sent.url_path == link.path
    for row in AuditEvent.objects.filter(job=job):  # the audit keeps the path, never the signature
        assert "X-Amz-" not in row.request_summary + row.response_summary


# --- Links ----------------------------------------------------------------------------------------------


def test_a_link_to_s3_media_is_a_sigv4_presigned_url_without_the_secret_key(s3: Bucket) -> None:
    media = store(demo_picture(61))
    url = media_link(media, ttl=600)
    link = urlsplit(url)
    query = parse_qs(link.query)
    assert f"{link.scheme}://{link.netloc}" == s3.endpoint  # S3 serves it, not this app
    assert link.path == f"/{s3.name}/{media.file.name}"
    assert reverse("media-link", args=[media.pk, "lobby.jpg"]).rsplit("/", 2)[0] not in url
    # SigV4: what S3 takes for every bucket (SigV2, botocore's default for links, is refused by new ones).
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["600"]  # the ttl asked for, not AWS_QUERYSTRING_EXPIRE
    assert query["X-Amz-Credential"][0].startswith(f"{ACCESS_KEY_ID}/")
    assert len(query["X-Amz-Signature"][0]) == 64
    assert SECRET_ACCESS_KEY not in url and quote(SECRET_ACCESS_KEY, safe="") not in url
