"""The Booking.com gallery in the admin: the property page shows it in Booking.com's order (main photo
first) with each photo's origin and tags by name, and lets an operator refresh it and order it; a gallery
photo's tags, a room's photos and order, and the tag list have their own pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F, Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString

from media_sync.admin.base import (
    ForgivingListMixin,
    ReadOnlyAdminMixin,
    RunJobsPermissionMixin,
    TimelineLinkMixin,
    job_url,
    posted,
    start_or_show,
)
from media_sync.admin.pictures import PictureViewsMixin, link_placeholder, picture
from media_sync.admin.suapi_forms import PhotoOrderForm, PhotoTagsForm, RoomPhotosForm
from media_sync.models import (
    Operation,
    Provider,
    SuBatch,
    SuGalleryPhoto,
    SuPhoto,
    SuProperty,
    SuRoom,
    SuTag,
)
from media_sync.services.suapi_gallery import su_gallery_sync_start, su_tags_ensure, tag_names
from media_sync.services.suapi_gallery_jobs import su_order_start, su_room_photos_start, su_set_tags_start
from media_sync.services.suapi_photos import DELETED


def gallery_picture(row: SuGalleryPhoto) -> SafeString:
    """Ours: the thumbnail made when it came in. Else the one made from Booking.com's preview."""
    if row.sent is not None and row.sent.photo is not None:
        return picture(row.sent.photo)
    if row.removed_at and not row.thumbnail:
        return link_placeholder(row.photo_id)
    return picture(row)


def gallery_origin(row: SuGalleryPhoto) -> str:
    if row.removed_at:
        deleted_here = row.sent is not None and row.sent.status == DELETED
        where = "deleted from here" if deleted_here else "removed at Booking.com"
        return f"{row.get_origin_display()}; {where} {row.removed_at:%Y-%m-%d %H:%M}"
    return row.get_origin_display()


@dataclass
class GalleryRow:
    photo: SuGalleryPhoto
    thumb: SafeString
    origin: str
    tags: str
    up: str = ""  # the whole order with this photo one place earlier, for its button
    down: str = ""


def gallery_rows(property: SuProperty) -> list[GalleryRow]:
    """The gallery as Booking.com orders it (main photo first), then the photos it no longer holds."""
    photos = list(
        property.gallery.select_related("sent__photo__media").order_by(
            F("removed_at").asc(nulls_first=True), "position", "photo_id"
        )
    )
    live = [row.photo_id for row in photos if not row.removed_at]
    rows = []
    for photo in photos:
        row = GalleryRow(
            photo, gallery_picture(photo), gallery_origin(photo), ", ".join(tag_names(photo.tags))
        )
        if not photo.removed_at:
            index = live.index(photo.photo_id)
            for offset, attr in ((-1, "up"), (1, "down")):
                if 0 <= index + offset < len(live):
                    order = list(live)
                    order[index], order[index + offset] = order[index + offset], order[index]
                    setattr(row, attr, "\n".join(order))
        rows.append(row)
    return rows


class PhotoInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SuPhoto
    readonly_fields = fields = ("picture", "media", "width", "height", "created_at")
    extra = 0

    @admin.display(description="picture")
    def picture(self, photo: SuPhoto) -> str:
        return picture(photo)


class BatchInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SuBatch
    readonly_fields = fields = ("batch_id", "status", "created_at", "status_reason")
    extra = 0
    show_change_link = True


def _get(modeladmin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> Any:
    """The object of an operator's page: 404 when missing, 403 without the run permission."""
    obj = modeladmin.get_object(request, unquote(object_id))
    if obj is None:
        raise Http404("Not found.")
    if not request.user.has_perm("media_sync.run_jobs"):
        raise PermissionDenied
    return obj


@admin.register(SuProperty)
class SuPropertyAdmin(ForgivingListMixin, TimelineLinkMixin, RunJobsPermissionMixin, admin.ModelAdmin):
    timeline_kind, timeline_key = "property", "hotel_id"
    list_display = ["hotel_id", "channel_hotel_id", "name", "created_at"]
    search_fields = ["=hotel_id", "=channel_hotel_id", "name"]
    inlines = [PhotoInline, BatchInline]
    actions = ["refresh_gallery"]

    @admin.action(description="Refresh gallery from Booking.com", permissions=["run_jobs"])
    def refresh_gallery(self, request: HttpRequest, queryset: QuerySet[SuProperty]) -> HttpResponse | None:
        user = request.user.get_username()
        jobs = [su_gallery_sync_start(property=property, triggered_by=user) for property in queryset]
        if len(jobs) == 1:
            self.message_user(request, f"Job {jobs[0].pk} started: {jobs[0]}.", messages.SUCCESS)
            return HttpResponseRedirect(job_url(jobs[0]))
        self.message_user(
            request, f"{len(jobs)} gallery refreshes started (jobs {', '.join(str(j.pk) for j in jobs)})."
        )
        return None

    def get_urls(self) -> list[URLPattern]:
        urls = [
            path(
                "<path:object_id>/gallery/order/",
                self.admin_site.admin_view(self.order_view),
                name="media_sync_suproperty_gallery_order",
            )
        ]
        return [*urls, *super().get_urls()]

    def order_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """imageOrder with the ids as typed (or as an up/down button posts them): the first is main."""
        property: SuProperty = _get(self, request, object_id)
        live = property.gallery.filter(removed_at__isnull=True).order_by("position")
        initial = {"photo_ids": "\n".join(live.values_list("photo_id", flat=True))}
        return start_or_show(
            self,
            request,
            property,
            PhotoOrderForm(**posted(request), initial=initial),
            lambda data: su_order_start(
                property=property, photo_ids=data["photo_ids"], triggered_by=request.user.get_username()
            ),
            provider=Provider.SUAPI,
            operation=Operation.SU_ORDER_PHOTOS,
            subject=f"property {property.hotel_id}",
            item=request.POST.get("photo_ids", "")[:100],
            title=f"Order the gallery of {property} at Booking.com",
            submit_label="Send this order to Booking.com",
            warning="The first photo becomes the main photo; photos not named follow the others.",
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        property = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if property is not None:
            context["gallery"] = gallery_rows(property)
            context["can_run"] = self.has_run_jobs_permission(request)
            context["rooms"] = list(property.rooms.all())
        return super().change_view(request, object_id, form_url, context)


@admin.register(SuGalleryPhoto)
class SuGalleryPhotoAdmin(
    ForgivingListMixin, PictureViewsMixin, RunJobsPermissionMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    list_display = ["thumb", "photo_id", "property", "origin_text", "tag_names", "is_main", "position"]
    list_display_links = ["photo_id"]
    list_filter = ["origin", "is_main", "property"]
    list_select_related = ["property", "sent__photo__media"]
    search_fields = ["=photo_id", "=property__hotel_id"]
    readonly_fields = ["thumb", "origin_text", "tag_names"]
    fields = ["thumb", "photo_id", "property", "origin_text", "tag_names", "position", "is_main", "seen_at"]
    list_per_page = 100

    @admin.display(description="picture")
    def thumb(self, row: SuGalleryPhoto) -> str:
        return gallery_picture(row)

    @admin.display(description="origin")
    def origin_text(self, row: SuGalleryPhoto) -> str:
        return gallery_origin(row)

    @admin.display(description="tags")
    def tag_names(self, row: SuGalleryPhoto) -> str:
        return ", ".join(tag_names(row.tags)) or "—"

    def get_urls(self) -> list[URLPattern]:
        urls = [
            path(
                "<path:object_id>/tags/",
                self.admin_site.admin_view(self.tags_view),
                name="media_sync_sugalleryphoto_tags",
            )
        ]
        return [*urls, *super().get_urls()]

    def tags_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        row: SuGalleryPhoto = _get(self, request, object_id)
        su_tags_ensure(triggered_by=request.user.get_username())
        property = row.property
        return start_or_show(
            self,
            request,
            row,
            PhotoTagsForm(**posted(request), initial={"tags": row.tags}),
            lambda data: su_set_tags_start(
                property=property,
                photo_id=row.photo_id,
                tags=data["tags"],
                triggered_by=request.user.get_username(),
            ),
            provider=Provider.SUAPI,
            operation=Operation.SU_SET_TAGS,
            subject=f"property {property.hotel_id}",
            item=row.photo_id,
            title=f"Tags of photo {row.photo_id} at Booking.com",
            submit_label="Send these tags to Booking.com",
        )


@admin.register(SuRoom)
class SuRoomAdmin(ForgivingListMixin, RunJobsPermissionMixin, admin.ModelAdmin):
    """Operators keep a room's channel_room_id and name (like a property's ids) and change its photos."""

    list_display = ["__str__", "property", "channel_room_id", "name", "photo_count", "synced_at"]
    list_filter = ["property"]
    list_select_related = ["property"]
    search_fields = ["=channel_room_id", "=property__hotel_id", "name"]
    readonly_fields = ["gallery", "synced_at"]
    fields = ["property", "channel_room_id", "name", "gallery", "synced_at"]

    @admin.display(description="photos")
    def photo_count(self, room: SuRoom) -> int:
        return len(room.photo_ids)

    @admin.display(description="gallery at Booking.com (main photo first)")
    def gallery(self, room: SuRoom) -> str:
        return ", ".join(room.photo_ids) or "—"

    def get_urls(self) -> list[URLPattern]:
        urls = [
            path(
                "<path:object_id>/order/",
                self.admin_site.admin_view(self.order_view),
                name="media_sync_suroom_order",
            ),
            path(
                "<path:object_id>/photos/",
                self.admin_site.admin_view(self.photos_view),
                name="media_sync_suroom_photos",
            ),
        ]
        return [*urls, *super().get_urls()]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Model | None = None,
    ) -> HttpResponse:
        if obj is not None and self.has_run_jobs_permission(request):
            context["object_tool_links"] = [
                (reverse("admin:media_sync_suroom_photos", args=[obj.pk]), "Add or take out photos"),
                (reverse("admin:media_sync_suroom_order", args=[obj.pk]), "Order the room's photos"),
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def order_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        room: SuRoom = _get(self, request, object_id)
        return start_or_show(
            self,
            request,
            room,
            PhotoOrderForm(**posted(request), initial={"photo_ids": "\n".join(room.photo_ids)}),
            lambda data: su_order_start(
                property=room.property,
                room=room,
                photo_ids=data["photo_ids"],
                triggered_by=request.user.get_username(),
            ),
            provider=Provider.SUAPI,
            operation=Operation.SU_ORDER_PHOTOS,
            subject=f"property {room.property.hotel_id}",
            item=f"room {room.channel_room_id}",
            title=f"Order the photos of {room}",
            submit_label="Send this order to Booking.com",
            warning="The first photo becomes the room's main photo.",
        )

    def photos_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        room: SuRoom = _get(self, request, object_id)
        return start_or_show(
            self,
            request,
            room,
            RoomPhotosForm(**posted(request)),
            lambda data: su_room_photos_start(
                room=room,
                photo_ids=data["photo_ids"],
                add=data["change"] == "associate",
                triggered_by=request.user.get_username(),
            ),
            provider=Provider.SUAPI,
            operation=Operation.SU_ROOM_PHOTOS,
            subject=f"property {room.property.hotel_id}",
            item=f"room {room.channel_room_id}",
            title=f"Photos of {room}",
            submit_label="Send to Booking.com",
        )


@admin.register(SuTag)
class SuTagAdmin(ForgivingListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Booking.com's tag list, refreshed daily and on a gallery refresh when empty: read only."""

    list_display = ["name", "tag_id", "synced_at"]
    search_fields = ["name", "=tag_id"]
    list_per_page = 200
