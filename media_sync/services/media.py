"""Files we hold: checked from their bytes before anything is sent, stored through django-storages."""

from __future__ import annotations

import hashlib
import io
import mimetypes
import time
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from PIL import Image, UnidentifiedImageError

from media_sync.models import MediaFile
from media_sync.services.refusals import InputRefused

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


_TOO_LARGE_TO_DECODE = f"the picture is too large to decode safely (over {Image.MAX_IMAGE_PIXELS} pixels)"


def _same_type(a: str, b: str) -> bool:
    return a == b or (a in ZIP_FAMILY and b in ZIP_FAMILY)


def media_sniff_mime(fileobj: IO[bytes]) -> str | None:
    """What the bytes are, as far as we can tell from the first bytes (Pillow reads only the header).
    A picture past Pillow's decompression-bomb limit is refused (InputRefused)."""
    start = fileobj.tell()
    head = fileobj.read(16)
    fileobj.seek(start)
    for magic, mime in MAGIC:
        if head.startswith(magic):
            return mime
    try:
        # Pillow checks a picture's size as it reads the header: past its decompression-bomb limit that is
        # an error here (as in media_image_info), a refusal rather than a crash.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fileobj) as image:
                image_format = image.format or ""
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputRefused(_TOO_LARGE_TO_DECODE) from None
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
    if sniffed in PILLOW_MIME.values():
        # The header alone says nothing of the rest: one reduced decode reads every byte, so a picture
        # cut short or corrupted is refused here rather than by the provider.
        start = fileobj.tell()
        try:
            media_image_info(fileobj)
        finally:
            fileobj.seek(start)
    if by_extension and not _same_type(by_extension, mime):
        raise InputRefused(f"the extension {PurePosixPath(name).suffix} does not match the type {mime}")
    return mime


def media_sha256(source: File) -> str:
    """SHA-256 of the file, a chunk at a time: never the whole file in memory."""
    digest = hashlib.sha256()
    source.seek(0)
    for chunk in source.chunks():
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()


def media_file_store(*, source: File, name: str, mime_type: str, uploaded_by: str) -> MediaFile:
    """Store a checked file under its SHA-256."""
    media = MediaFile(
        original_name=name,
        size=source.size,
        sha256=media_sha256(source),
        mime_type=mime_type,
        uploaded_by=uploaded_by,
    )
    if isinstance(source, UploadedFile):
        # S3 keeps an upload's own content_type (the browser's claim) as the object's Content-Type,
        # which is what providers downloading it see: make it the type we checked.
        source.content_type = mime_type
    media.file.save(PurePosixPath(name).name, source, save=False)
    media.save()
    return media


# --- Pictures -----------------------------------------------------------------------------------------

THUMBNAIL_SIZE = (160, 160)
# Decoding this large is plenty for a thumbnail and a 9x8 hash: JPEG decodes at 1/2..1/8 scale (draft).
DRAFT_SIZE = (320, 320)
# The larger picture a click on a thumbnail opens.
PREVIEW_SIZE = (1024, 1024)


@dataclass(frozen=True)
class ImageInfo:
    image_format: str
    width: int
    height: int
    phash: str
    thumbnail: bytes


def _dhash(image: Image.Image) -> str:
    """Difference hash: each bit says whether a pixel is brighter than its right neighbour."""
    small = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    pixels = small.tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (pixels[row * 9 + col] > pixels[row * 9 + col + 1])
    return f"{bits:016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _decode_reduced(fileobj: IO[bytes], draft_size: tuple[int, int]) -> tuple[str, int, int, Image.Image]:
    """Format, size and the picture decoded at the smallest scale still at least `draft_size` (JPEG
    draft mode: a fraction of the memory). Past Pillow's decompression-bomb limit (Image.MAX_IMAGE_PIXELS)
    it is an error here, not a warning: such a picture is refused, as is one that does not decode."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(fileobj) as image:
                image_format, (width, height) = image.format or "", image.size
                image.draft("RGB", draft_size)
                return image_format, width, height, image.convert("RGB")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InputRefused(_TOO_LARGE_TO_DECODE) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise InputRefused("the file is not a readable picture") from None


def _jpeg(image: Image.Image, quality: int = 80) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def media_image_info(fileobj: IO[bytes]) -> ImageInfo:
    """Format, size, perceptual hash and a thumbnail from one reduced decode."""
    image_format, width, height, reduced = _decode_reduced(fileobj, DRAFT_SIZE)
    phash = _dhash(reduced)
    # From a reduced decode the thumbnail is a 2-4x shrink: a whole-factor box reduce then a short bicubic
    # step (reducing_gap=1) takes a third of the time of bicubic all the way, within one level in 255.
    reduced.thumbnail(THUMBNAIL_SIZE, reducing_gap=1.0)
    return ImageInfo(image_format, width, height, phash, _jpeg(reduced))


@dataclass(frozen=True)
class Previews:
    thumbnail: bytes
    preview: bytes


def _preview_image(fileobj: IO[bytes]) -> Image.Image:
    """The picture reduced to at most PREVIEW_SIZE, from one reduced decode."""
    _, _, _, reduced = _decode_reduced(fileobj, PREVIEW_SIZE)
    reduced.thumbnail(PREVIEW_SIZE, reducing_gap=2.0)
    return reduced


def media_preview(fileobj: IO[bytes]) -> bytes:
    """The larger picture (JPEG) of a stored photo."""
    return _jpeg(_preview_image(fileobj), quality=85)


def media_previews(data: bytes) -> Previews:
    """A thumbnail and a larger preview (JPEG) of a provider's picture, from one reduced decode.
    Raises InputRefused (a ValueError) when the bytes are no readable picture or too large to decode."""
    return media_previews_of(io.BytesIO(data))


def media_previews_of(fileobj: IO[bytes]) -> Previews:
    """media_previews of a file we hold (our copy of an attachment), read from storage as Pillow needs."""
    reduced = _preview_image(fileobj)
    preview = _jpeg(reduced, quality=85)
    reduced.thumbnail(THUMBNAIL_SIZE, reducing_gap=1.0)
    return Previews(thumbnail=_jpeg(reduced), preview=preview)


def media_thumbnail_file(info: ImageInfo, name: str) -> ContentFile[bytes]:
    return ContentFile(info.thumbnail, name=f"{PurePosixPath(name).stem}-thumb.jpg")


# --- Links a provider can fetch a file from -------------------------------------------------------------

_LINK_SALT = "media_sync.media_link"


def _link_signer() -> signing.Signer:
    return signing.Signer(salt=_LINK_SALT)


def media_link(media: MediaFile, *, ttl: int) -> str:
    """A URL that serves the file for `ttl` seconds and then stops working: S3's own pre-signed URL when
    media is on S3, else one signed by this app under MEDIA_SYNC_PUBLIC_BASE_URL. The signature rides in
    the query string, which the audit never keeps."""
    if settings.AWS_STORAGE_BUCKET_NAME:
        return str(media.file.storage.url(media.file.name, expire=ttl))
    expires = int(time.time()) + ttl
    path = reverse("media-link", args=[media.pk, quote(PurePosixPath(media.original_name).name)])
    return (
        f"{settings.MEDIA_SYNC_PUBLIC_BASE_URL.rstrip('/')}{path}"
        f"?expires={expires}&signature={_link_signer().sign(f'{media.pk}:{expires}').rpartition(':')[2]}"
    )


def media_link_valid(*, pk: int, expires: str, signature: str) -> bool:
    if not expires.isdigit() or int(expires) < time.time():
        return False
    # unsign() also accepts a signature made with a key in SECRET_KEY_FALLBACKS: rotating the key does
    # not break the links already handed to Booking.com.
    try:
        _link_signer().unsign(f"{pk}:{expires}:{signature}")
    except signing.BadSignature:
        return False
    return True
