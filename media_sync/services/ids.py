"""Ids as typed by a person, checked before anything is sent."""

from __future__ import annotations

from collections.abc import Iterable

from media_sync.services.refusals import InputRefused

MAX_ID = 2**63 - 1  # the largest id a BIGINT column holds


def parse_ids(values: Iterable[str | int], *, what: str = "client order id") -> list[int]:
    """Order ids as typed by a person: digits only, positive, duplicates dropped, order kept."""
    ids: list[int] = []
    for raw in values:
        text = str(raw).strip()
        if not text.isdigit() or not text.isascii():
            raise InputRefused(f"{text!r} is not a {what}: use digits only")
        value = int(text)
        if not 0 < value <= MAX_ID:
            raise InputRefused(f"{text} is not a {what}: it must be a positive number")
        if value not in ids:
            ids.append(value)
    if not ids:
        raise InputRefused(f"give at least one {what}")
    return ids
