"""Image intake: validating, hashing and thumbnailing a 12-megapixel JPEG, ours against a naive Pillow intake.

Ours is what `su_photo_add` runs on a new photo before it stores it: `media_image_info` (format, real
dimensions, dHash and thumbnail from one decode at reduced scale), Booking.com's format and pixel rules,
the SHA-256 `media_file_store` keeps, and the thumbnail file. The naive intake decodes the picture at full
size, applies the same rules, hashes the file, and takes the dHash and the thumbnail from the full-size
picture. Both treat Pillow's decompression-bomb warning as an error, and both are checked to refuse a
truncated and a corrupted copy of the picture before anything is timed: faster must not mean laxer.

Times are the median of --runs, ours and naive taken in turn. Peak memory is measured once each in a fresh
process (a process that has already decoded a large picture keeps that memory, which would hide the next
peak).

    .venv/bin/python bench/image_intake.py [--runs 15]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()  # media.py imports the models

from django.core.files import File  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

from bench.common import MB, emit, timed_with_peak  # noqa: E402
from integrations.suapi.rules import FORMATS, MAX_BYTES, MAX_SIDE, MIN_SIDE  # noqa: E402
from media_sync.services.media import (  # noqa: E402
    THUMBNAIL_SIZE,
    _dhash,
    hamming,
    media_image_info,
    media_sha256,
    media_thumbnail_file,
)
from media_sync.services.refusals import InputRefused  # noqa: E402

SIZE = (4000, 3000)
TARGET = 3.0


def make_photo(path: Path, size: tuple[int, int] = SIZE) -> None:
    """Gradients, shapes with edges and sensor-like noise: at quality 90 it compresses like a camera photo
    (about 0.3 bytes a pixel), so the decoder has a real entropy stream to work through."""
    width, height = size
    red = Image.linear_gradient("L").resize(size)
    green = Image.radial_gradient("L").resize(size)
    blue = Image.linear_gradient("L").rotate(90).resize(size)
    picture = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(picture)
    for n in range(40):
        x, y = (n * 977) % width, (n * 613) % height
        colour = (n * 37 % 256, n * 91 % 256, n * 53 % 256)
        draw.ellipse((x, y, x + width // 8, y + height // 10), fill=colour)
    noise = Image.effect_noise(size, 48).filter(ImageFilter.GaussianBlur(0.6)).convert("RGB")
    Image.blend(picture, noise, 0.25).save(path, "JPEG", quality=90)


def check_rules(image_format: str, width: int, height: int) -> None:
    """Booking.com's rules as `su_photo_add` applies them."""
    if image_format not in FORMATS:
        raise InputRefused(f"{image_format} format is not taken")
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise InputRefused(f"{width}x{height} pixels is outside the limits")


def intake_ours(path: Path, thumb_path: Path) -> tuple[int, int, str, str]:
    with File(path.open("rb"), name=path.name) as source:
        if not 0 < source.size <= MAX_BYTES:
            raise InputRefused("empty or too large")
        info = media_image_info(source)
        check_rules(info.image_format, info.width, info.height)
        sha256 = media_sha256(source)
    thumb_path.write_bytes(media_thumbnail_file(info, path.name).read())
    return info.width, info.height, info.phash, sha256


def intake_naive(path: Path, thumb_path: Path) -> tuple[int, int, str, str]:
    if not 0 < path.stat().st_size <= MAX_BYTES:
        raise InputRefused("empty or too large")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            image.load()  # the full decode: a truncated or corrupt file fails here
            check_rules(image.format or "", *image.size)
            width, height = image.size
            digest = hashlib.sha256()
            with path.open("rb") as raw:
                while chunk := raw.read(MB):
                    digest.update(chunk)
            phash = _dhash(image)
            image.thumbnail(THUMBNAIL_SIZE)
            image.save(thumb_path, "JPEG", quality=80)
    return width, height, phash, digest.hexdigest()


INTAKES: dict[str, Callable[[Path, Path], tuple[int, int, str, str]]] = {
    "ours": intake_ours,
    "naive": intake_naive,
}


def refuses(intake: Callable[[Path, Path], object], path: Path, thumb_path: Path) -> bool:
    try:
        intake(path, thumb_path)
    except (InputRefused, OSError, SyntaxError, ValueError):
        return True
    return False


def check_same_validation(photo: Path, folder: Path) -> None:
    """Both intakes refuse a truncated copy and one with a second start-of-image spliced into the scan
    (a structural error to libjpeg, not a warning), and agree on the good picture."""
    data = photo.read_bytes()
    truncated, corrupt = folder / "truncated.jpg", folder / "corrupt.jpg"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    middle = len(data) // 2
    corrupt.write_bytes(data[:middle] + b"\xff\xd8" + data[middle + 2 :])
    thumb = folder / "check-thumb.jpg"
    for name, intake in INTAKES.items():
        for bad in (truncated, corrupt):
            if not refuses(intake, bad, thumb):
                sys.exit(f"{name} intake took {bad.name}: the comparison would be unfair")
    ours, naive = intake_ours(photo, thumb), intake_naive(photo, thumb)
    if ours[:2] != naive[:2] or ours[3] != naive[3]:
        sys.exit(f"ours and naive disagree: {ours} against {naive}")
    bits = hamming(ours[2], naive[2])
    print("both refuse the truncated and the corrupted copy")
    print(f"dHash ours {ours[2]}, naive (full size) {naive[2]}: {bits} bits apart")


def peak_in_fresh_process(name: str, photo: Path) -> int:
    command = [sys.executable, __file__, "--peak", name, str(photo)]
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return int(output.stdout.strip().splitlines()[-1])


def measure_peak(name: str, photo: Path) -> None:
    """Child process: warm up on a small picture (plugins, imports), then one intake of the big one."""
    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / "small.jpg"
        make_photo(small, (640, 480))
        INTAKES[name](small, Path(folder) / "thumb.jpg")
        _, peak = timed_with_peak(lambda: INTAKES[name](photo, Path(folder) / "thumb.jpg"))
    print(peak)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--peak", nargs=2, metavar=("INTAKE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak:
        measure_peak(args.peak[0], Path(args.peak[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = folder / "photo.jpg"
        make_photo(photo)
        print(f"{SIZE[0]}x{SIZE[1]} JPEG, quality 90: {photo.stat().st_size / MB:.1f} MB")
        check_same_validation(photo, folder)
        times: dict[str, list[float]] = {name: [] for name in INTAKES}
        for run in range(args.runs + 1):
            for name, intake in INTAKES.items():
                started = time.perf_counter()
                intake(photo, folder / f"{name}-thumb.jpg")
                if run:  # the first run of each warms up
                    times[name].append(time.perf_counter() - started)
        ours, naive = (statistics.median(times[name]) * 1000 for name in INTAKES)
        peaks = {name: peak_in_fresh_process(name, photo) / MB for name in INTAKES}
    print(f"median of {args.runs}: ours {ours:.1f} ms, naive {naive:.1f} ms")
    print(f"peak memory: ours {peaks['ours']:.1f} MB, naive {peaks['naive']:.1f} MB")
    emit(
        part="image intake",
        measure="12 MP JPEG: validate, hash, thumbnail",
        ours=f"{ours:.0f} ms",
        against=f"{naive:.0f} ms naive Pillow",
        ratio=f"{naive / ours:.1f}x faster",
        target=f">= {TARGET:.0f}x faster",
        met=naive / ours >= TARGET,
    )
    emit(
        part="image intake",
        measure="12 MP JPEG: peak memory",
        ours=f"{peaks['ours']:.1f} MB",
        against=f"{peaks['naive']:.1f} MB naive Pillow",
        ratio=f"{peaks['ours'] / peaks['naive']:.2f} of naive",
        target="below naive",
        met=peaks["ours"] < peaks["naive"],
    )


if __name__ == "__main__":
    main()
