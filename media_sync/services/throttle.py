"""Each provider's request rate and concurrency cap, shared by every worker on every machine through
the database (the one thing they all share)."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from media_sync.metrics import LIMIT_WAIT
from media_sync.models import ProviderLease, ProviderPace

# How often a worker waiting for a concurrency slot looks again.
LEASE_POLL_S = 0.02


def _lease_seconds() -> float:
    # Longer than any one request may take, so only a dead worker's lease ever expires.
    connect, read = settings.MEDIA_SYNC_HTTP_TIMEOUT
    return max(60.0, 4 * (connect + read))


def provider_pace_wait(provider: str, *, rate: float) -> float:
    """Reserve this request's start time, `1 / rate` after the previous reservation, and sleep until
    it. Returns the seconds slept. Requests are spaced evenly, so no burst exceeds the rate."""
    spacing = 1.0 / rate
    with transaction.atomic():
        ProviderPace.objects.get_or_create(provider=provider)
        pace = ProviderPace.objects.select_for_update().get(provider=provider)
        now = time.time()
        start = max(pace.next_at, now)
        ProviderPace.objects.filter(provider=provider).update(next_at=start + spacing)
    wait = start - now
    if wait > 0:
        time.sleep(wait)
    return max(wait, 0.0)


def _lease_acquire(provider: str, *, cap: int) -> uuid.UUID:
    ProviderLease.objects.bulk_create(
        [ProviderLease(provider=provider, slot=slot) for slot in range(cap)], ignore_conflicts=True
    )
    holder = uuid.uuid4()
    while True:
        now = time.time()
        free = Q(holder__isnull=True) | Q(expires_at__lt=now)
        slots = ProviderLease.objects.filter(free, provider=provider, slot__lt=cap)
        for pk in slots.values_list("pk", flat=True):
            # Conditional, like an item claim: two workers never hold the same slot.
            if ProviderLease.objects.filter(free, pk=pk).update(
                holder=holder, expires_at=now + _lease_seconds()
            ):
                return holder
        time.sleep(LEASE_POLL_S * (1 + random.random()))


@contextmanager
def provider_slot(provider: str) -> Iterator[None]:
    """Hold one of the provider's concurrency slots and start at the provider's pace. Used around
    every request a client sends (retries and logins included)."""
    limits = settings.MEDIA_SYNC_PROVIDER_LIMITS[provider]
    rate, cap = float(limits["RATE"]), int(limits["CONCURRENCY"])
    started = time.monotonic()
    holder = _lease_acquire(provider, cap=cap) if cap > 0 else None
    try:
        if rate > 0:
            provider_pace_wait(provider, rate=rate)
        LIMIT_WAIT.labels(provider).inc(time.monotonic() - started)
        yield
    finally:
        if holder is not None:
            ProviderLease.objects.filter(provider=provider, holder=holder).update(holder=None, expires_at=0.0)
