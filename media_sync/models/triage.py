"""Failure groups and their triage: failed items of one cause, what was done about them, by whom."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from media_sync.models.jobs import TransferItem
from media_sync.models.vocabulary import Provider, failure_class_words, job_operation_choices


class GroupStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"


# Nobody has closed these yet: what "Open failures" lists.
STILL_OPEN = (GroupStatus.OPEN, GroupStatus.ACKNOWLEDGED)


class ResolveReason(models.TextChoices):
    RETRIED = "retried", "Retried and succeeded"
    FIXED_AT_PROVIDER = "fixed_at_provider", "Fixed at the provider"
    NOT_NEEDED = "not_needed", "Not needed"


class TriageAction(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", "Acknowledged"
    ASSIGN = "assign", "Assigned"
    NOTE = "note", "Note"
    RESOLVE = "resolve", "Resolved"
    IGNORE = "ignore", "Ignored"
    RETRY = "retry", "Retried"
    # Written by the app: a new failure of a resolved group.
    REOPEN = "reopen", "Reopened by a new failure"


class FailureGroup(models.Model):
    """Failed items of one cause: provider, operation, failure class and message pattern (ids and numbers
    taken out). Items join when they end failed (services/triage.py: failure_group_join)."""

    # SHA-256 of the four parts: one row per cause, even with two workers failing at once.
    signature = models.CharField(max_length=64, unique=True)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    operation = models.CharField(max_length=40, choices=job_operation_choices)
    failure_class = models.CharField(max_length=30, blank=True)
    pattern = models.TextField()
    status = models.CharField(max_length=20, choices=GroupStatus.choices, default=GroupStatus.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=20, choices=ResolveReason.choices, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    # When it last became open: first seen, or reopened by a new failure. Its age counts from here.
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["opened_at", "id"]
        verbose_name = "failure group"
        verbose_name_plural = "open failures"
        permissions = [
            ("triage_note", "Can acknowledge failures and add notes"),
            ("triage_decide", "Can assign, resolve and ignore failures"),
        ]
        indexes = [models.Index(fields=["status", "opened_at"], name="failuregroup_open_oldest")]

    def __str__(self) -> str:
        label = Provider(self.provider).label if self.provider in Provider.values else self.provider
        return f"{label}: {self.pattern[:80]}"

    @property
    def failure_class_words(self) -> str:
        return failure_class_words(self.failure_class)


class TriageEvent(models.Model):
    """Append-only, like the audit: a database trigger refuses UPDATE and DELETE (migration 0030_triage)."""

    timestamp = models.DateTimeField(default=timezone.now)
    group = models.ForeignKey(FailureGroup, on_delete=models.PROTECT, related_name="events")
    # Set: the action was on this one failed item, not on the whole group.
    item = models.ForeignKey(TransferItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=20, choices=TriageAction.choices)
    actor = models.CharField(max_length=150, blank=True)  # the user's name; blank: the app itself
    owner = models.CharField(max_length=150, blank=True)  # who it was assigned to
    reason = models.CharField(max_length=20, choices=ResolveReason.choices, blank=True)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=GroupStatus.choices)  # the group's or item's, after

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name = "triage event"
        indexes = [
            models.Index(fields=["group", "-timestamp"], name="triage_group_recent"),
            models.Index(fields=["item", "-timestamp"], name="triage_item_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor or 'media-sync'}"
