"""The RecoveryConnect mirror: orders and the photos and documents listed on them."""

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


class RecoveryConnectPhoto(Pictured):
    """A photo listed at RecoveryConnect. Its pre-signed URL is short-lived and never stored."""

    photo_id = models.PositiveBigIntegerField(unique=True)
    order = models.ForeignKey(RecoveryConnectOrder, on_delete=models.CASCADE, related_name="photos")
    name = models.CharField(max_length=255, blank=True)
    type_id = models.IntegerField(null=True, blank=True)
    type_name = models.CharField(max_length=100, blank=True)
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
