"""How the SU API simulator judges a photo URL, as Booking.com's processing would: download it, decode it,
check its size, and fingerprint it to find duplicates."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import requests
from PIL import Image

from integrations.suapi.rules import MAX_BYTES, MAX_SIDE, MIN_SIDE

DOWNLOAD_TIMEOUT_S = 5.0
MAX_PHOTO_BYTES = MAX_BYTES  # Booking.com's limit; reading stops here, under the 60 MB we allow
# Mean absolute difference (0-255) between two 16x16 thumbnails under which two pictures are the same;
# re-encoding stays around 1, distinct pictures are tens apart.
SAME_PICTURE_THRESHOLD = 4.0


def fingerprint(image: Image.Image) -> bytes:
    """A 16x16 RGB thumbnail: close for a re-encoded or resized copy, far apart for another picture."""
    return image.convert("RGB").resize((16, 16), Image.Resampling.BOX).tobytes()


def same_picture(first: bytes, second: bytes) -> bool:
    if len(first) != len(second) or not first:
        return False
    return sum(abs(a - b) for a, b in zip(first, second, strict=True)) / len(first) <= SAME_PICTURE_THRESHOLD


def picture_fingerprint(content: bytes) -> bytes:
    with Image.open(io.BytesIO(content)) as image:
        image.load()
        return fingerprint(image)


def _size_text(size: int) -> str:
    mebibyte = 1024 * 1024
    return f"{size // mebibyte} MB" if size % mebibyte == 0 else f"{size} bytes"


@dataclass(frozen=True)
class Fetched:
    """What a download and decode found: a final status, or the picture's fingerprint to compare."""

    status: str | None
    message: str = ""
    thumbprint: bytes = b""


def _download(url: str, max_bytes: int) -> bytes | Fetched:
    deadline = time.monotonic() + DOWNLOAD_TIMEOUT_S
    try:
        with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT_S) as response:
            if not 200 <= response.status_code < 300:
                return Fetched("bad_url", f"Could not download the image: HTTP {response.status_code}")
            media_type = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
            if media_type.startswith("text/") or "html" in media_type:
                return Fetched("bad_url", f"Could not download the image: the URL answered {media_type}")
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    return Fetched("error", f"The image is larger than {_size_text(max_bytes)}")
                if time.monotonic() > deadline:  # a trickling server must not hold processing forever
                    return Fetched("bad_url", "Could not download the image: timed out")
                chunks.append(chunk)
            return b"".join(chunks)
    except requests.Timeout:
        return Fetched("bad_url", "Could not download the image: timed out")
    except (requests.RequestException, ValueError) as error:
        return Fetched("bad_url", f"Could not download the image: {type(error).__name__}")


def _inspect(content: bytes) -> Fetched:
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()
            width, height = image.size
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; such a picture is refused too.
            if Image.MAX_IMAGE_PIXELS is not None and width * height > Image.MAX_IMAGE_PIXELS:
                raise Image.DecompressionBombError(f"{width}x{height}")
            thumbprint = fingerprint(image)
    # Pillow's decoders raise many types on bad bytes (OSError, SyntaxError, ValueError...), and
    # DecompressionBombError / DecompressionBombWarning (an error under -W error) on huge ones.
    except Exception:
        return Fetched("error_decode", "The image could not be decoded")
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        message = (
            f"Image dimensions {width}x{height} are outside {MIN_SIDE}x{MIN_SIDE} to {MAX_SIDE}x{MAX_SIDE}"
        )
        return Fetched("error", message)
    return Fetched(None, thumbprint=thumbprint)


def fetch_photo(url: str, max_bytes: int = MAX_PHOTO_BYTES) -> Fetched:
    content = _download(url, max_bytes)
    return content if isinstance(content, Fetched) else _inspect(content)


def _fetch_safely(url: str, max_bytes: int) -> Fetched:
    try:
        return fetch_photo(url, max_bytes)
    except Exception as error:  # a surprise must end the photo as bad_url, not leave it claimed forever
        return Fetched("bad_url", f"Could not download the image: {type(error).__name__}")
