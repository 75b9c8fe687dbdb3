"""Real pictures for simulated providers to serve."""

from __future__ import annotations

import functools
import io
import zlib

from PIL import Image, ImageDraw


@functools.lru_cache(maxsize=256)
def labelled_jpeg(title: str, subtitle: str = "", *, size: tuple[int, int] = (1024, 768)) -> bytes:
    """A real JPEG for a simulated provider's pictures: a colour of its own (from the title) with the
    title written large enough to read in an 80-pixel thumbnail."""
    hue = zlib.crc32(f"{title}/{subtitle}".encode())
    image = Image.new("RGB", size, (64 + hue % 160, 64 + (hue >> 8) % 160, 64 + (hue >> 16) % 160))
    draw = ImageDraw.Draw(image)
    width, height = size
    scale = width / 1024
    draw.rectangle(
        (80 * scale, 80 * scale, width - 80 * scale, height - 80 * scale), outline="white", width=12
    )
    # As large as fits across the frame (about 0.55 em per character).
    title_size = min(150, 1400 // max(1, len(title)))
    draw.text((120 * scale, 200 * scale), title, fill="white", font_size=int(title_size * scale))
    draw.text((120 * scale, height - 208 * scale), subtitle, fill="white", font_size=int(64 * scale))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
