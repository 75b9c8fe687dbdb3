"""How we treat each provider: its shared pace, its concurrency slots, the alerts sent about it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from media_sync.models.vocabulary import Provider


class FailureAlert(models.Model):
    """One email per provider per window: the row is the proof it went out, and the guard against twice."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    window_start = models.DateTimeField()
    total = models.PositiveIntegerField()
    failed = models.PositiveIntegerField()
    recipients = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-window_start"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "window_start"], name="one_alert_per_window")
        ]

    def __str__(self) -> str:
        return (
            f"{self.provider}: {self.failed} of {self.total} failed from {self.window_start:%Y-%m-%d %H:%M}"
        )


class ProviderPace(models.Model):
    """A provider's shared request rate: when the next request may start, whichever worker sends it.
    Time is Unix seconds from the sending machine's clock (machines are expected to run NTP)."""

    provider = models.CharField(max_length=20, choices=Provider.choices, primary_key=True)
    next_at = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"{self.provider}: next request at {self.next_at:.3f}"


class ProviderLease(models.Model):
    """One of a provider's concurrency slots; held by a worker for one request. A lease that outlives
    its expiry belongs to a worker that died, and is free again."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    slot = models.PositiveSmallIntegerField()
    holder = models.UUIDField(null=True, blank=True)
    expires_at = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "slot"], name="provider_lease_slot")]

    def __str__(self) -> str:
        return f"{self.provider} slot {self.slot}"
