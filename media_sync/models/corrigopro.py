"""The CorrigoPro mirror: work orders, their attachments, and the webhook messages that change them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from media_sync.models.media import MediaFile, Pictured
from media_sync.models.vocabulary import Provider


class CorrigoWorkOrder(models.Model):
    work_order_id = models.PositiveBigIntegerField("work order id", unique=True)
    status = models.CharField(
        max_length=30, blank=True, help_text="As last seen: from a webhook, an error answer, or set by hand."
    )
    description = models.CharField(max_length=200, blank=True)
    attachments_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-work_order_id"]
        verbose_name = "CorrigoPro work order"

    def __str__(self) -> str:
        return f"Work order {self.work_order_id}" + (f" ({self.status})" if self.status else "")


class CorrigoAttachment(Pictured):
    """An attachment at CorrigoPro. Removed ones stay, marked, so a late "added" webhook cannot revive it."""

    attachment_id = models.CharField(max_length=36, unique=True)
    work_order = models.ForeignKey(CorrigoWorkOrder, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=255, blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    document_type = models.CharField(max_length=30, blank=True)
    visibility = models.CharField(max_length=30, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    performed_by = models.CharField(max_length=100, blank=True)
    added_by = models.CharField(
        max_length=20, blank=True, help_text="'us', 'customer' or empty when unknown."
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)
    # Our copy of the file (CORRIGOPRO_KEEP_FILES), kept after the customer removes it at CorrigoPro.
    # PROTECT: the copy is evidence; retention never drops the bytes of one while this row exists.
    kept_file = models.ForeignKey(
        MediaFile, on_delete=models.PROTECT, null=True, blank=True, related_name="cp_kept"
    )
    kept_at = models.DateTimeField(null=True, blank=True)
    keep_error = models.TextField(blank=True, help_text="Why the last try to keep a copy failed.")

    class Meta:
        ordering = ["work_order_id", "name"]
        verbose_name = "CorrigoPro attachment"

    def __str__(self) -> str:
        return f"{self.name or self.attachment_id}" + (" (removed)" if self.removed_at else "")


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Stored (unknown event)"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One webhook message, stored once per provider MessageId: redeliveries find it and stop there."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    message_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=60)
    work_order_id = models.PositiveBigIntegerField(null=True, blank=True)
    body = models.JSONField()
    status = models.CharField(max_length=20, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED)
    deliveries = models.PositiveIntegerField(default=1)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["provider", "message_id"], name="unique_webhook_message")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"
