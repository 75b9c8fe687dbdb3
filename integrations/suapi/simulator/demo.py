"""The SU API simulator's demo data: two properties, the photo NT7 already has, and demo pictures."""

from __future__ import annotations

import functools
import io
import random

from PIL import Image, ImageDraw

# (hotel_id, channel_hotel_id): the Django demo loader mirrors these.
DEMO_PROPERTIES: list[tuple[str, str]] = [("NT7", "12837615"), ("NT8", "12837616")]
# NT7's photo already on Booking.com: the app's demo uploading demo_picture(0) again gets `duplicate`.
DEMO_PHOTO_ID = "Nt7DemoPic0"
DEMO_PHOTO_URL = "https://photos.sim.invalid/demo/0.jpg"
DEMO_PHOTO_TAGS = [101]
# NT7's one room Booking.com knows (its channel_room_id); its gallery starts empty.
DEMO_ROOM_ID = "1283761501"
SAMPLE_SIZE = (320, 240)


def sample_picture(fingerprint: bytes) -> bytes:
    """A watermarked preview as Booking.com's sample_url serves one: the photo's 16x16 fingerprint blown
    up to SAMPLE_SIZE, with a band saying it is a sample. A real JPEG, a few kilobytes."""
    image = Image.frombytes("RGB", (16, 16), fingerprint).resize(SAMPLE_SIZE, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, SAMPLE_SIZE[1] - 24, SAMPLE_SIZE[0], SAMPLE_SIZE[1]), fill=(255, 255, 255))
    draw.text((8, SAMPLE_SIZE[1] - 20), "SAMPLE - Booking.com", fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


@functools.lru_cache(maxsize=32)
def demo_picture(n: int, size: tuple[int, int] = (800, 600)) -> bytes:
    """A distinct, deterministic JPEG per `n`: a two-colour gradient under a few coloured rectangles."""
    rng = random.Random(n)
    width, height = size

    def colour() -> tuple[int, int, int]:
        return (rng.randrange(256), rng.randrange(256), rng.randrange(256))

    mask = Image.linear_gradient("L").resize(size)
    image = Image.composite(Image.new("RGB", size, colour()), Image.new("RGB", size, colour()), mask)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(max(1, width)), rng.randrange(max(1, height))
        x1 = x0 + rng.randrange(max(1, width // 8), max(2, width // 2))
        y1 = y0 + rng.randrange(max(1, height // 8), max(2, height // 2))
        draw.rectangle((x0, y0, x1, y1), fill=colour())
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()
