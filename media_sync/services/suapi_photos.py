"""SU API (Booking.com) photos before they are sent: take them in, show them larger, check a selection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction

from integrations.suapi.rules import FORMATS, MAX_BYTES, MAX_PHOTOS, MAX_SIDE, MIN_SIDE, PhotoStatus
from media_sync.models import BatchStatus, SuBatchPhoto, SuPhoto, SuProperty
from media_sync.services.media import (
    hamming,
    media_file_store,
    media_image_info,
    media_preview,
    media_thumbnail_file,
)
from media_sync.services.refusals import InputRefused

# Our own mark on a sent photo deleted at Booking.com (su_delete); pendingImages never says it.
DELETED = "deleted"
# Two dHashes this close (of 64 bits) are the same picture, resized or re-encoded.
NEAR_DUPLICATE_BITS = 6


def su_photo_add(*, property: SuProperty, source: File, name: str, uploaded_by: str) -> SuPhoto:
    """Measure a picture and keep it if Booking.com could take it: format, size, pixel limits."""
    if not source.size:
        raise InputRefused(f"{name}: the file is empty")
    if source.size > MAX_BYTES:
        raise InputRefused(
            f"{name}: {source.size / 1048576:.1f} MB is over Booking.com's {MAX_BYTES // 1048576} MB"
        )
    with source.open("rb") as fileobj:
        try:
            info = media_image_info(fileobj)
        except InputRefused as refusal:
            raise InputRefused(f"{name}: {refusal}") from None
        if info.image_format not in FORMATS:
            raise InputRefused(f"{name}: {info.image_format or 'this'} format is not taken; send JPEG or PNG")
        if not (MIN_SIDE <= info.width <= MAX_SIDE and MIN_SIDE <= info.height <= MAX_SIDE):
            raise InputRefused(
                f"{name}: {info.width}x{info.height} pixels is outside Booking.com's "
                f"{MIN_SIDE}x{MIN_SIDE} to {MAX_SIDE}x{MAX_SIDE}"
            )
        with transaction.atomic():
            media = media_file_store(
                source=source, name=name, mime_type=FORMATS[info.image_format], uploaded_by=uploaded_by
            )
            photo = SuPhoto(
                property=property,
                media=media,
                image_format=info.image_format,
                width=info.width,
                height=info.height,
                phash=info.phash,
            )
            thumbnail = media_thumbnail_file(info, name)
            photo.thumbnail.save(thumbnail.name or "thumb.jpg", thumbnail, save=False)
            photo.save()
    return photo


def su_photo_preview(photo: SuPhoto) -> SuPhoto:
    """The photo with its larger picture, made from the stored file the first time it is asked for (the
    intake decodes small, for the thumbnail and the hash; most photos are never opened large)."""
    if not photo.preview:
        with photo.media.file.open("rb") as source:
            preview = ContentFile(
                media_preview(source), name=f"{PurePosixPath(photo.media.original_name).stem}-preview.jpg"
            )
        photo.preview.save(preview.name or "preview.jpg", preview, save=False)
        SuPhoto.objects.filter(pk=photo.pk).update(preview=photo.preview.name)
    return photo


@dataclass
class Preflight:
    photo: SuPhoto
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def su_preflight(*, property: SuProperty, photos: list[SuPhoto]) -> list[Preflight]:
    """What Booking.com would refuse (problems) and what it would call a duplicate (warnings), per photo,
    before anything is sent: exact (same SHA-256) and near (close dHash) copies of photos already sent
    to this property and still standing, or of another photo in the same selection."""
    # Pictures Booking.com has for this property, as far as we know: live, on their way, or found to be
    # a duplicate of one it had.
    standing = (
        SuBatchPhoto.objects.filter(batch__property=property, photo__isnull=False)
        .exclude(status__in=(PhotoStatus.BAD_URL, PhotoStatus.ERROR, PhotoStatus.ERROR_DECODE, DELETED))
        .exclude(batch__status__in=(BatchStatus.FAILED, BatchStatus.EXPIRED))
        .select_related("photo__media", "batch")
    )
    sent = {
        (
            bp.photo.media.sha256,
            bp.photo.phash,
            f"{bp.photo} sent in batch {bp.batch.batch_id or '(sending)'}",
        )
        for bp in standing
        if bp.photo
    }
    live = (
        property.photos.filter(sent__status=PhotoStatus.OK).exclude(sent__status=DELETED).distinct().count()
    )
    rows = [Preflight(photo) for photo in photos]
    if live + len(photos) > MAX_PHOTOS:
        for row in rows:
            row.problems.append(
                f"{live} photos are live and {len(photos)} more would pass Booking.com's {MAX_PHOTOS}"
            )
    for index, row in enumerate(rows):
        sha, phash = row.photo.media.sha256, row.photo.phash
        earlier = [
            (r.photo.media.sha256, r.photo.phash, f"{r.photo} (in this selection)") for r in rows[:index]
        ]
        for other_sha, other_phash, label in [*sent, *earlier]:
            if other_sha == sha:
                row.warnings.append(f"the same file as {label}")
            elif hamming(other_phash, phash) <= NEAR_DUPLICATE_BITS:
                row.warnings.append(f"looks like {label}")
    return rows
