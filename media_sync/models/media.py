"""What we show of a provider's picture, and the files we hold."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ThumbnailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    NOT_A_PICTURE = "not_a_picture", "Not a picture"


class Pictured(models.Model):
    """A provider's picture we show: a thumbnail and a larger preview made by a worker from the bytes the
    provider serves, kept in media storage (the provider's link is never stored)."""

    thumbnail = models.FileField(upload_to="thumbnails/%Y/%m/", max_length=300, blank=True)
    preview = models.FileField(upload_to="previews/%Y/%m/", max_length=300, blank=True)
    thumbnail_status = models.CharField(
        max_length=20, choices=ThumbnailStatus.choices, default=ThumbnailStatus.PENDING
    )
    thumbnail_error = models.TextField(blank=True)

    class Meta:
        abstract = True


class MediaFile(models.Model):
    """A file we hold (django-storages: local disk or S3), checked when it came in."""

    file = models.FileField(upload_to="uploads/%Y/%m/%d/", max_length=300)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    mime_type = models.CharField(max_length=100)
    uploaded_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "media file"

    def __str__(self) -> str:
        return f"{self.original_name} ({self.size} bytes)"
