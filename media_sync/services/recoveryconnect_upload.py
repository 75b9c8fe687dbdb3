"""Upload photos to a RecoveryConnect recovery: the checks before anything is sent, the job, and its runner.

Shared by `rc_upload` and the order page's "Upload photos…". Every file is checked first (a real picture,
under RECOVERYCONNECT_MAX_UPLOAD_BYTES); one refused file refuses the whole request, and nothing is stored
or sent. The files are stored, then one job uploads them, one item per file (item = file name,
destination = recovery id), streaming each from storage as base64 inside the JSON body.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import PurePosixPath
from typing import IO, TypedDict, cast

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from PIL import Image

from integrations.recoveryconnect.client import PICTURE_TIME_FORMAT, RecoveryConnectClient
from integrations.recoveryconnect.schemas import Photo, UploadedPhoto
from media_sync.models import (
    MediaFile,
    Operation,
    Provider,
    RecoveryConnectOrder,
    RecoveryConnectPhoto,
    RecoveryConnectRecovery,
    ThumbnailStatus,
    TransferItem,
    TransferJob,
)
from media_sync.services import thumbnails
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim_each
from media_sync.services.items import item_finish, provider_call
from media_sync.services.jobs import job_create
from media_sync.services.media import media_check, media_file_store
from media_sync.services.recoveryconnect import rc_client
from media_sync.services.refusals import InputRefused

# The attachment type sent when none is chosen: RecoveryConnect's general photo ("AR General Photo").
DEFAULT_TYPE_ID = 2
EXIF_IFD = 0x8769
EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_FORMAT = "%Y:%m:%d %H:%M:%S"
FOUND_AFTER_UNANSWERED = "found after an unanswered call: not sent again"
# A file's name is its job item (and the audit row's item): what those columns hold.
MAX_NAME = 100


@dataclass(frozen=True)
class UploadSource:
    """One file asked to be uploaded, and the time to use when its picture says none (the time of an
    admin upload, a file's modification time on the command line)."""

    source: File
    name: str
    file_time: datetime


class UploadFileParams(TypedDict):
    media_file_id: int
    picture_time: str
    image_name: str


class UploadPhotosParams(TypedDict):
    """rc_upload_photos: the order and recovery the calls name, what every file is sent with, and each
    file's stored copy and picture time (item = file name -> its params)."""

    order_id: int
    recovery_id: int
    type_id: int | None
    caption: str
    personal: bool
    files: dict[str, UploadFileParams]


def rc_parse_picture_time(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), PICTURE_TIME_FORMAT)
    except ValueError:
        raise InputRefused(
            f"picture time {text!r} is not of the form YYYY-MM-DD HH:MM:SS (for example 2026-01-31 14:05:00)"
        ) from None


def rc_recovery_choose(order: RecoveryConnectOrder, recovery_id: int | None) -> RecoveryConnectRecovery:
    """The recovery to upload to: the one asked for (it must be this order's), or the order's only one."""
    recoveries = list(order.recoveries.all()) if order.pk else []
    if recovery_id is not None:
        chosen = next((r for r in recoveries if r.recovery_id == recovery_id), None)
        if chosen is not None:
            return chosen
        other = (
            RecoveryConnectRecovery.objects.select_related("order").filter(recovery_id=recovery_id).first()
        )
        if other is not None:
            raise InputRefused(
                f"recovery {recovery_id} is a recovery of {other.order}, not of order {order.order_id}"
            )
        raise InputRefused(
            f"recovery {recovery_id} is not a known recovery of order {order.order_id}: refresh the order "
            f"(rc_sync_photos --order {order.order_id}) to learn its recoveries"
        )
    if not recoveries:
        raise InputRefused(
            f"no recovery is known for order {order.order_id}: RecoveryConnect takes photos on a recovery; "
            f"refresh the order (rc_sync_photos --order {order.order_id}) first"
        )
    if len(recoveries) > 1:
        named = "; ".join(
            f"{r.recovery_id} (created {r.created_at_provider or 'at an unknown time'}"
            f"{'' if r.is_active else ', inactive'})"
            for r in recoveries
        )
        raise InputRefused(f"order {order.order_id} has {len(recoveries)} recoveries: {named}; choose one")
    return recoveries[0]


def _exif_time(fileobj: IO[bytes]) -> datetime | None:
    """The picture's EXIF DateTimeOriginal (read from its header: no decode), if it has a valid one."""
    start = fileobj.tell()
    try:
        with Image.open(fileobj) as image:
            value = image.getexif().get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL)
    except (OSError, ValueError, SyntaxError):
        return None
    finally:
        fileobj.seek(start)
    try:
        return datetime.strptime(str(value).strip("\x00 "), EXIF_FORMAT) if value else None
    except ValueError:
        return None


def _local(moment: datetime) -> datetime:
    """A file's time as RecoveryConnect's times are read (RECOVERYCONNECT_TIME_ZONE): picture_time names no
    zone. An EXIF time is the camera's own clock and is sent as it is."""
    zone = zoneinfo.ZoneInfo(settings.RECOVERYCONNECT_TIME_ZONE)
    return timezone.localtime(moment, zone) if timezone.is_aware(moment) else moment


def _check_file(upload: UploadSource, max_size: int, picture_time: datetime | None) -> tuple[str, str]:
    """Refuse what is not a picture or too large; its MIME type and the picture time to send."""
    # Opened (rewound), not closed: the caller owns the file, and it is stored after every file is checked.
    fileobj = upload.source.open("rb")
    try:
        mime = media_check(
            name=upload.name,
            size=upload.source.size or 0,
            fileobj=fileobj,
            declared_mime="",
            max_size=max_size,
        )
    except InputRefused as refusal:
        raise InputRefused(f"{upload.name}: {refusal}") from None
    if not mime.startswith("image/"):
        raise InputRefused(f"{upload.name}: the content is {mime}, not a picture")
    when = picture_time or _exif_time(fileobj) or _local(upload.file_time)
    return mime, when.strftime(PICTURE_TIME_FORMAT)


def rc_upload_start(
    *,
    order: RecoveryConnectOrder,
    files: list[UploadSource],
    triggered_by: str,
    recovery_id: int | None = None,
    type_id: int | None = None,
    caption: str = "",
    personal: bool = False,
    picture_time: datetime | None = None,
    enqueue: bool = True,
) -> TransferJob:
    """Check every file, store them all, and queue their upload: all or nothing."""
    if not files:
        raise InputRefused("give at least one file to upload")
    names = [PurePosixPath(upload.name).name for upload in files]
    doubles = sorted({name for name in names if names.count(name) > 1})
    if doubles:
        raise InputRefused(f"two files are named {', '.join(doubles)}: rename one (a name tells them apart)")
    too_long = [name for name in names if len(name) > MAX_NAME]
    if too_long:
        raise InputRefused(f"{too_long[0][:40]}…: a file name may have at most {MAX_NAME} characters here")
    if type_id is not None and type_id <= 0:
        raise InputRefused(f"photo type {type_id} is not a RecoveryConnect attachment type id")
    recovery = rc_recovery_choose(order, recovery_id)
    caption = caption.strip()
    if len(caption) > 255:
        raise InputRefused(f"the caption is {len(caption)} characters; at most 255")
    max_size = settings.RECOVERYCONNECT_MAX_UPLOAD_BYTES
    checked = [_check_file(upload, max_size, picture_time) for upload in files]
    with transaction.atomic():
        stored: dict[str, UploadFileParams] = {}
        for upload, name, (mime, when) in zip(files, names, checked, strict=True):
            upload.source.open("rb")
            media = media_file_store(
                source=upload.source, name=name, mime_type=mime, uploaded_by=triggered_by
            )
            stored[name] = UploadFileParams(
                media_file_id=media.pk, picture_time=when, image_name=caption or PurePosixPath(name).stem
            )
        params = UploadPhotosParams(
            order_id=order.order_id,
            recovery_id=recovery.recovery_id,
            type_id=type_id if type_id is not None or personal else DEFAULT_TYPE_ID,
            caption=caption,
            personal=personal,
            files=stored,
        )
        return job_create(
            provider=Provider.RECOVERYCONNECT,
            operation=Operation.RC_UPLOAD_PHOTOS,
            subject=f"order {order.order_id}, recovery {recovery.recovery_id}",
            triggered_by=triggered_by,
            items=[(name, str(recovery.recovery_id)) for name in names],
            params=params,
            enqueue=enqueue,
        )


# --- Running the job (called by the worker through services.run) ---------------------------------------


def _run_upload(job: TransferJob) -> None:
    recorder = ExchangeRecorder(job=job)
    client = rc_client(recorder=recorder)
    for item in job_claim_each(job=job):
        recorder.about(item=item.item, destination=item.destination)
        _upload_one(job, client, item)


def _upload_one(job: TransferJob, client: RecoveryConnectClient, item: TransferItem) -> None:
    params = cast(UploadPhotosParams, job.params)
    file = params["files"][item.item]
    media = MediaFile.objects.get(pk=file["media_file_id"])
    if item.unconfirmed:
        listed = _listed_now(job, client, item, params)
        if listed is None:
            return  # the look-up failed: provider_call ended the item with its reason
        found = _sent_before(job, item, listed)
        if found is not None:
            _record(job, item, params, media, found.id, FOUND_AFTER_UNANSWERED)
            return

    def open_file() -> IO[bytes]:
        return cast(IO[bytes], media.file.storage.open(media.file.name, "rb"))

    common = {
        "order_id": params["order_id"],
        "recovery_id": params["recovery_id"],
        "open_file": open_file,
        "size": media.size,
        "file_name": item.item,
        "image_name": file["image_name"],
        "picture_time": datetime.strptime(file["picture_time"], PICTURE_TIME_FORMAT),
    }
    # Personal property may go without a type (left out of the body); a photo always has one.
    call: Callable[[], UploadedPhoto] = (
        partial(client.upload_personal_photo, type_id=params["type_id"], **common)  # type: ignore[arg-type]
        if params["personal"]
        else partial(client.upload_photo, type_id=params["type_id"] or DEFAULT_TYPE_ID, **common)  # type: ignore[arg-type]
    )
    # can_confirm: an upload left unanswered is handed back, and the next claim looks before sending.
    uploaded = provider_call(job, [item], call, can_confirm=True)
    if uploaded is not None:
        message = f"photo {uploaded.attachment_id} added to recovery {params['recovery_id']}"
        _record(job, item, params, media, uploaded.attachment_id, message)


def _listed_now(
    job: TransferJob, client: RecoveryConnectClient, item: TransferItem, params: UploadPhotosParams
) -> list[Photo] | None:
    """What RecoveryConnect lists where the upload would be: the recovery's photos, or for personal
    property (listed on no recovery) the order's."""
    order_id, recovery_id = params["order_id"], params["recovery_id"]
    if params["personal"]:
        return provider_call(job, [item], partial(client.list_photos, order_id=order_id))
    return provider_call(
        job, [item], partial(client.list_recovery_photos, order_id=order_id, recovery_id=recovery_id)
    )


def _sent_before(job: TransferJob, item: TransferItem, listed: list[Photo]) -> Photo | None:
    """A listed photo of this file's name that we did not know before the job: our unanswered upload.
    The lists give no picture time, so the name is what is compared."""
    named = [photo for photo in listed if photo.name == item.item]
    known_before = set(
        RecoveryConnectPhoto.objects.filter(
            photo_id__in=[photo.id for photo in named], synced_at__lt=job.created_at
        ).values_list("photo_id", flat=True)
    )
    return next((photo for photo in named if photo.id not in known_before), None)


def _record(
    job: TransferJob,
    item: TransferItem,
    params: UploadPhotosParams,
    media: MediaFile,
    attachment_id: int,
    message: str,
) -> None:
    """The uploaded photo into the mirror, its thumbnail from our own copy, and the item done, with the
    attachment id RecoveryConnect answered as its reference."""
    with transaction.atomic():
        order, _ = RecoveryConnectOrder.objects.get_or_create(order_id=params["order_id"])
        recovery = RecoveryConnectRecovery.objects.filter(recovery_id=params["recovery_id"]).first()
        type_id = params["type_id"]
        type_name = (
            RecoveryConnectPhoto.objects.filter(type_id=type_id)
            .exclude(type_name="")
            .values_list("type_name", flat=True)
            .first()
            if type_id is not None
            else None
        )
        photo, _ = RecoveryConnectPhoto.objects.update_or_create(
            photo_id=attachment_id,
            defaults={
                "order": order,
                "name": item.item,
                "type_id": type_id,
                "type_name": type_name or "",
                "recovery": recovery,
                "personal": params["personal"],
                "synced_at": timezone.now(),
            },
        )
        _thumbnail_from_our_copy(photo, media, order.order_id)
        item_finish(
            item=item, job=job, succeeded=True, http_status=200, reference=str(attachment_id), message=message
        )


def _thumbnail_from_our_copy(photo: RecoveryConnectPhoto, media: MediaFile, order_id: int) -> None:
    """We hold the very bytes we sent: the thumbnail and preview come from them, not from a fetch. Should
    that fail, the thumbnail worker fetches the photo as for any other."""
    if thumbnails.thumbnails_from_file(photo, media, f"rc-{photo.photo_id}"):
        RecoveryConnectPhoto.objects.filter(pk=photo.pk).update(thumbnail_status=ThumbnailStatus.PENDING)
        thumbnails.thumbnails_enqueue(provider=Provider.RECOVERYCONNECT, parent_id=order_id)


RUNNERS: dict[str, Callable[[TransferJob], None]] = {Operation.RC_UPLOAD_PHOTOS: _run_upload}
