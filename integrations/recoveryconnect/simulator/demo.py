"""The RecoveryConnect simulator's demo data: five orders, their photos, and the pictures the links serve."""

from __future__ import annotations

from typing import Any

from integrations.simkit import labelled_jpeg

# (internal order id, client order id, closed): the Django demo loader mirrors these ids.
DEMO_ORDERS: list[tuple[int, int, bool]] = [
    (57076503, 9100001, False),
    (57076504, 9100002, False),
    (57076505, 9100003, True),
    (57076506, 9100004, False),
    (57076507, 9100005, False),
]
_DAMAGE = {"type_id": 3, "type_name": "Damage"}
_DEMO_PHOTOS: dict[int, list[dict[str, Any]]] = {
    57076503: [
        {"name": "front.jpg"},
        {"name": "rear.jpg"},
        {"name": "vin.jpg"},
        {"name": "damage-left.jpg", **_DAMAGE},
    ],
    57076504: [{"name": "front.jpg"}, {"name": "odometer.jpg", "locked": True}],
    57076505: [{"name": "front.jpg"}],
    57076507: [{"name": "front.jpg"}, {"name": "plate.jpg"}, {"name": "damage-rear.jpg", **_DAMAGE}],
}
# Every open demo order has one recovery (created now); this one has two, so "several recoveries" shows.
_DEMO_RECOVERIES: dict[int, list[dict[str, Any]]] = {
    57076503: [
        {"created_at": "2026-01-12 09:30:00", "is_active": False},
        {"created_at": "2026-02-03 14:05:00"},
    ],
}
PHOTO_SIZE = (1024, 768)


def photo_jpeg(photo_id: int, name: str) -> bytes:
    """What a photo link serves: a real 1024x768 JPEG of its own colour with the photo's name on it."""
    return labelled_jpeg(name.rsplit(".", 1)[0], f"photo {photo_id}", size=PHOTO_SIZE)
