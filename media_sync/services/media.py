"""Files we hold: checked from their bytes before anything is sent, stored through django-storages."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import PurePosixPath
from typing import IO

from django.core.files import File
from PIL import Image, UnidentifiedImageError

from media_sync.models import MediaFile
from media_sync.services.jobs import InputRefused

PILLOW_MIME = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
MAGIC = [(b"%PDF-", "application/pdf"), (b"PK\x03\x04", "application/zip")]
# Office documents are zip files: their own types are what the extension says.
ZIP_FAMILY = {
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def _same_type(a: str, b: str) -> bool:
    return a == b or (a in ZIP_FAMILY and b in ZIP_FAMILY)


def media_sniff_mime(fileobj: IO[bytes]) -> str | None:
    """What the bytes are, as far as we can tell from the first bytes (Pillow reads only the header)."""
    start = fileobj.tell()
    head = fileobj.read(16)
    fileobj.seek(start)
    for magic, mime in MAGIC:
        if head.startswith(magic):
            return mime
    try:
        with Image.open(fileobj) as image:
            image_format = image.format or ""
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    finally:
        fileobj.seek(start)
    return PILLOW_MIME.get(image_format, f"image/x-{image_format.lower()}")


def media_check(*, name: str, size: int, fileobj: IO[bytes], declared_mime: str, max_size: int) -> str:
    """Refuse what the provider would refuse, or what is not what it says; return the MIME type to send."""
    if size == 0:
        raise InputRefused("the file is empty")
    if size > max_size:
        raise InputRefused(f"the file is {size / 1048576:.1f} MB; the limit is {max_size / 1048576:.0f} MB")
    sniffed = media_sniff_mime(fileobj)
    by_extension = mimetypes.guess_type(name)[0]
    mime = (declared_mime or sniffed or by_extension or "application/octet-stream").strip().lower()
    if sniffed and not _same_type(sniffed, mime):
        raise InputRefused(f"the content is {sniffed}, not {mime} as declared")
    if sniffed is None and (mime.startswith("image/") or mime == "application/pdf"):
        raise InputRefused(f"the content is not a readable {mime} file")
    if by_extension and not _same_type(by_extension, mime):
        raise InputRefused(f"the extension {PurePosixPath(name).suffix} does not match the type {mime}")
    return mime


def media_file_store(*, source: File, name: str, mime_type: str, uploaded_by: str) -> MediaFile:
    """Store a checked file; its SHA-256 is computed a chunk at a time, never the whole file in memory."""
    digest = hashlib.sha256()
    source.seek(0)
    for chunk in source.chunks():
        digest.update(chunk)
    source.seek(0)
    media = MediaFile(
        original_name=name,
        size=source.size,
        sha256=digest.hexdigest(),
        mime_type=mime_type,
        uploaded_by=uploaded_by,
    )
    media.file.save(PurePosixPath(name).name, source, save=False)
    media.save()
    return media
