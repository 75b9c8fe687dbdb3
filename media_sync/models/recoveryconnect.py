"""The RecoveryConnect mirror: orders, their recoveries, and the photos and documents listed on them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from media_sync.models.media import Pictured


class RecoveryConnectOrder(models.Model):
    """An MBSI order as we know it. Transfers address destinations by *client* order id."""

    order_id = models.PositiveBigIntegerField("internal order id", unique=True)
    client_order_id = models.PositiveBigIntegerField(
        "client order id",
        null=True,
        blank=True,
        db_index=True,
        help_text="The client's own reference; transfers to this order use it.",
    )
    description = models.CharField(max_length=200, blank=True)
    photos_synced_at = models.DateTimeField(null=True, blank=True)
    documents_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-order_id"]
        verbose_name = "RecoveryConnect order"

    def __str__(self) -> str:
        client = f" (client {self.client_order_id})" if self.client_order_id else ""
        return f"Order {self.order_id}{client}"


class RecoveryConnectRecovery(models.Model):
    """A recovery of an order (the repossession event its recovery photos hang on), as last listed."""

    recovery_id = models.PositiveBigIntegerField(unique=True)
    order = models.ForeignKey(RecoveryConnectOrder, on_delete=models.CASCADE, related_name="recoveries")
    created_at_provider = models.CharField(
        "created at RecoveryConnect",
        max_length=40,
        blank=True,
        help_text="As RecoveryConnect writes it (its format is not documented).",
    )
    is_active = models.BooleanField(default=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order_id", "recovery_id"]
        verbose_name = "RecoveryConnect recovery"
        verbose_name_plural = "RecoveryConnect recoveries"

    def __str__(self) -> str:
        created = f" of {self.created_at_provider}" if self.created_at_provider else ""
        return f"Recovery {self.recovery_id}{created}{'' if self.is_active else ' (inactive)'}"


class RecoveryConnectPhoto(Pictured):
    """A photo listed at RecoveryConnect. Its pre-signed URL is short-lived and never stored."""

    photo_id = models.PositiveBigIntegerField(unique=True)
    order = models.ForeignKey(RecoveryConnectOrder, on_delete=models.CASCADE, related_name="photos")
    name = models.CharField(max_length=255, blank=True)
    type_id = models.IntegerField(null=True, blank=True)
    type_name = models.CharField(max_length=100, blank=True)
    recovery = models.ForeignKey(
        RecoveryConnectRecovery,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="photos",
        help_text="The recovery whose photo list names it (none: listed on the order only).",
    )
    personal = models.BooleanField(
        "personal property",
        default=False,
        help_text="Set only for a photo we uploaded as personal property (RecoveryConnect's lists never say)",
    )
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order_id", "photo_id"]
        verbose_name = "RecoveryConnect photo"

    def __str__(self) -> str:
        return f"Photo {self.photo_id} {self.name}".strip()


class RecoveryConnectDocument(models.Model):
    """A document listed on an order at RecoveryConnect: who uploaded it and when, as RecoveryConnect says.
    Its download link lasts about 30 minutes and is never stored."""

    document_id = models.PositiveBigIntegerField(unique=True)
    order = models.ForeignKey(RecoveryConnectOrder, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=255, blank=True)
    uploaded_by = models.CharField(max_length=255, blank=True)
    uploaded_at = models.DateTimeField(
        null=True, blank=True, help_text="RecoveryConnect's time for the upload (RECOVERYCONNECT_TIME_ZONE)."
    )
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order_id", "document_id"]
        verbose_name = "RecoveryConnect document"

    def __str__(self) -> str:
        return f"Document {self.document_id} {self.name}".strip()
