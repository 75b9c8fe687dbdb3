"""The CorrigoPro simulator's demo data: work orders, their customers' files, and small real files."""

from __future__ import annotations

import functools
import io
import uuid
from typing import Any

from PIL import Image

from integrations.simkit.pictures import one_page_pdf


def _demo_id(work_order_id: int, name: str) -> str:
    # Stable across runs, so a demo loader on the app side can mirror the seeded attachments.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"corrigopro-sim/{work_order_id}/{name}"))


# (work order id, status); ids in the 41xxxxx range so they never look like RecoveryConnect's.
DEMO_WORK_ORDERS: list[tuple[int, str]] = [
    (4100001, "Accepted"),
    (4100002, "Accepted"),
    (4100003, "New"),
    (4100004, "Rejected"),
    (4100005, "Recalled"),
    (4100006, "OnHold"),
]


# (name, MIME type, document type) of the files customers attached to the demo work orders.
_DEMO_FILES: dict[int, list[tuple[str, str, str]]] = {
    4100001: [
        ("leak-under-sink.jpg", "image/jpeg", "Picture"),
        ("site-access.pdf", "application/pdf", "Document"),
    ],
    4100002: [
        ("broken-hvac-panel.jpg", "image/jpeg", "Picture"),
        ("service-contract.pdf", "application/pdf", "ServiceContract"),
    ],
}


def demo_attachments(work_order_id: int) -> list[dict[str, Any]]:
    """The attachment specs `seed_demo` gives a demo work order (ids are stable across runs)."""
    return [
        {
            "id": _demo_id(work_order_id, name),
            "name": name,
            "mime_type": mime_type,
            "document_type": document_type,
            "performed_by": "Customer",
        }
        for name, mime_type, document_type in _DEMO_FILES.get(work_order_id, [])
    ]


@functools.lru_cache(maxsize=8)
def tiny_jpeg(color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    """A valid 8x8 JPEG: demo and test files that image tools really open."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, "JPEG")
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def tiny_pdf() -> bytes:
    """A valid one-page PDF."""
    return one_page_pdf("CorrigoPro simulator", page=(200, 100), font_size=12, at=(20, 50))


def _content_for(mime_type: str) -> bytes:
    if mime_type == "image/jpeg":
        return tiny_jpeg()
    if mime_type == "application/pdf":
        return tiny_pdf()
    return b"CorrigoPro simulator file\n"
