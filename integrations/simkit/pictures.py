"""Real pictures and documents for simulated providers to serve."""

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


def one_page_pdf(
    text: str, *, page: tuple[int, int] = (612, 792), font_size: int = 18, at: tuple[int, int] = (72, 720)
) -> bytes:
    """A valid one-page PDF with `text` on it (the xref offsets are computed, so readers do not have to
    repair it)."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 {font_size} Tf {at[0]} {at[1]} Td ({escaped}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>" % page,
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
