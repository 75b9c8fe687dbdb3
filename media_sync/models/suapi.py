"""The SU API (Booking.com) mirror: properties, the photos we hold for them, the batches sent."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from media_sync.models.media import MediaFile


class SuProperty(models.Model):
    hotel_id = models.CharField("hotel id", max_length=50, unique=True)
    channel_hotel_id = models.CharField("channel hotel id", max_length=50)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["hotel_id"]
        verbose_name = "Booking.com property"
        verbose_name_plural = "Booking.com properties"

    def __str__(self) -> str:
        return f"{self.name or self.hotel_id} ({self.hotel_id} / {self.channel_hotel_id})"


class SuPhoto(models.Model):
    """A property photo we hold, measured when it came in."""

    property = models.ForeignKey(SuProperty, on_delete=models.CASCADE, related_name="photos")
    media = models.OneToOneField(MediaFile, on_delete=models.PROTECT, related_name="su_photo")
    thumbnail = models.FileField(upload_to="thumbnails/%Y/%m/", max_length=300, blank=True)
    # The larger picture, made from the stored photo the first time someone opens it.
    preview = models.FileField(upload_to="previews/%Y/%m/", max_length=300, blank=True)
    image_format = models.CharField(max_length=10)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # dHash: 64 bits as 16 hex digits; a small Hamming distance means "looks the same".
    phash = models.CharField(max_length=16, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "Booking.com photo"

    def __str__(self) -> str:
        return f"{self.media.original_name} ({self.width}x{self.height})"


class BatchStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    POLLING = "polling", "Waiting for Booking.com"
    FINISHED = "finished", "Finished"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"


class SuBatch(models.Model):
    """A photo batch sent through the SU API, followed by polling pendingImages until every photo ends."""

    property = models.ForeignKey(SuProperty, on_delete=models.CASCADE, related_name="batches")
    job = models.OneToOneField("TransferJob", on_delete=models.PROTECT, related_name="su_batch")
    batch_id = models.CharField("photo batch id", max_length=50, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.SENDING)
    status_reason = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # A poller holds the batch until this time: two pollers never work on one batch at once.
    poll_lease_until = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "Booking.com photo batch"
        verbose_name_plural = "Booking.com photo batches"

    def __str__(self) -> str:
        return f"Batch {self.batch_id or '(not sent)'} for {self.property.hotel_id}"


class SuBatchPhoto(models.Model):
    batch = models.ForeignKey(SuBatch, on_delete=models.CASCADE, related_name="photos")
    photo = models.ForeignKey(SuPhoto, on_delete=models.PROTECT, null=True, blank=True, related_name="sent")
    item = models.OneToOneField("TransferItem", on_delete=models.PROTECT, related_name="su_photo")
    # The URL's path only: its query carries the signature, which is never stored.
    url_path = models.CharField(max_length=500)
    photo_pending_id = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=20, blank=True)
    status_message = models.TextField(blank=True)
    booking_photo_id = models.CharField("Booking.com photo id", max_length=50, blank=True)
    duplicate_of = models.CharField(max_length=50, blank=True)
    request_timestamp = models.CharField(max_length=30, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "photo in a batch"

    def __str__(self) -> str:
        return f"{self.url_path.rsplit('/', 1)[-1]}: {self.status or 'not sent'}"
