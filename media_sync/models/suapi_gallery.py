"""What Booking.com holds for a property, mirrored: its gallery (ours and photos added outside this app),
its rooms' galleries, and the tag list that turns tag ids into names."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from media_sync.models.media import Pictured
from media_sync.models.suapi import SuBatchPhoto, SuProperty


class SuTag(models.Model):
    """A Booking.com photo tag, as retrieveTags lists it: people see the name, the API takes the id."""

    tag_id = models.PositiveIntegerField("tag id", primary_key=True)
    name = models.CharField(max_length=200)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = "Booking.com photo tag"

    def __str__(self) -> str:
        return self.name


class SuRoom(models.Model):
    """A room of a property with its own gallery at Booking.com, named by its channel_room_id."""

    property = models.ForeignKey(SuProperty, on_delete=models.CASCADE, related_name="rooms")
    channel_room_id = models.CharField("channel room id", max_length=50)
    name = models.CharField(max_length=200, blank=True)
    # The room's gallery as retrieveAssociateImages last answered it: the main photo first.
    photo_ids = models.JSONField(default=list, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["property", "channel_room_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["property", "channel_room_id"], name="su_room_unique_per_property"
            )
        ]
        verbose_name = "Booking.com room"

    def __str__(self) -> str:
        return f"{self.name or 'Room'} {self.channel_room_id} ({self.property.hotel_id})"


class GalleryOrigin(models.TextChoices):
    SENT = "sent", "Sent from here"
    OUTSIDE = "outside", "Added outside this app"


class SuGalleryPhoto(Pictured):
    """One photo of a property's gallery at Booking.com, as the last refresh found it. Ours are linked to
    the sent photo; one added elsewhere gets its thumbnail from Booking.com's public preview (sample_url,
    fetched once, never stored). A photo Booking.com no longer lists keeps its row, with `removed_at`."""

    property = models.ForeignKey(SuProperty, on_delete=models.CASCADE, related_name="gallery")
    photo_id = models.CharField("Booking.com photo id", max_length=50)
    origin = models.CharField(max_length=20, choices=GalleryOrigin.choices)
    sent = models.ForeignKey(
        SuBatchPhoto, on_delete=models.SET_NULL, null=True, blank=True, related_name="on_booking"
    )
    tags = models.JSONField(default=list, blank=True)
    # Booking.com's order: 0 is the main photo.
    position = models.PositiveIntegerField(default=0)
    is_main = models.BooleanField("main photo", default=False)
    first_seen_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField("removed at Booking.com", null=True, blank=True)

    class Meta:
        # Live photos first (NULL first on every database), in Booking.com's order.
        ordering = ["property", models.F("removed_at").asc(nulls_first=True), "position"]
        constraints = [
            models.UniqueConstraint(fields=["property", "photo_id"], name="su_gallery_photo_unique")
        ]
        verbose_name = "Booking.com gallery photo"

    def __str__(self) -> str:
        return f"Photo {self.photo_id} of {self.property.hotel_id}"
