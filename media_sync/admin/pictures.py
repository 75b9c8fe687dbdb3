"""Pictures in the admin: the one helper that renders a photo's thumbnail (or a placeholder saying why there
is none), and the permission-checked views that serve thumbnails and previews from media storage."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from media_sync.models import (
    CorrigoAttachment,
    RecoveryConnectPhoto,
    SuGalleryPhoto,
    SuPhoto,
    ThumbnailStatus,
)

# Every thumbnail shows in a box this size (CSS keeps the picture's shape inside it).
WIDTH, HEIGHT = 80, 60
PICTURED = (RecoveryConnectPhoto, CorrigoAttachment, SuPhoto, SuGalleryPhoto)


def picture_name(obj: Model) -> str:
    if isinstance(obj, RecoveryConnectPhoto):
        return f"Photo {obj.name or obj.photo_id} ({obj.photo_id})"
    if isinstance(obj, CorrigoAttachment):
        return f"Attachment {obj.name or obj.attachment_id}"
    if isinstance(obj, SuGalleryPhoto):
        return f"Booking.com photo {obj.photo_id}"
    assert isinstance(obj, SuPhoto)
    return f"Photo {obj.media.original_name}"


# The visible part of a failure's reason (all of it is in the tooltip and the accessible name).
SHORT_REASON = 34


def _placeholder(alt: str, label: str, reason: str, status: str, detail: str = "") -> SafeString:
    if len(detail) > SHORT_REASON:
        detail = detail[: SHORT_REASON - 1].rstrip() + "…"
    return format_html(
        '<span class="thumb thumb-placeholder thumb-{}" role="img" aria-label="{}: {}" title="{}">'
        "{}{}</span>",
        status,
        alt,
        reason,
        reason,
        label,
        format_html('<small aria-hidden="true">{}</small>', detail) if detail else "",
    )


def _document_label(obj: CorrigoAttachment) -> str:
    suffix = PurePosixPath(obj.name).suffix.lstrip(".").upper()
    return suffix or "File"


def link_placeholder(name: str) -> SafeString:
    """A photo Booking.com fetched from a URL it was given: this app holds no bytes, so no thumbnail."""
    return _placeholder(name, "Sent by link", "sent by its URL: no copy is held here", "document")


def picture(obj: Model | None, *, preview_link: bool = True) -> SafeString:
    """A photo's or attachment's thumbnail (a click opens the larger preview), or a placeholder that says
    why there is none. Reads only the object's own fields: a list of them costs no query per row
    (SuPhoto: select_related("media"))."""
    if not isinstance(obj, PICTURED):
        return SafeString("")
    alt = picture_name(obj)
    status = getattr(obj, "thumbnail_status", ThumbnailStatus.READY)
    if status == ThumbnailStatus.NOT_A_PICTURE:
        assert isinstance(obj, CorrigoAttachment)
        return _placeholder(alt, _document_label(obj), "not a picture, no thumbnail", "document")
    if status == ThumbnailStatus.PENDING:
        return _placeholder(alt, "Thumbnail on its way", "the thumbnail is being made", "pending")
    if status == ThumbnailStatus.FAILED or not obj.thumbnail:
        reason = getattr(obj, "thumbnail_error", "") or "no thumbnail was made"
        return _placeholder(alt, "No picture", f"no picture: {reason}", "failed", reason)
    prefix = f"admin:media_sync_{obj._meta.model_name}"
    image = format_html(
        '<img src="{}" alt="{}" width="{}" height="{}" class="thumb" loading="lazy">',
        reverse(f"{prefix}_thumbnail", args=[obj.pk]),
        alt,
        WIDTH,
        HEIGHT,
    )
    # A Booking.com photo's preview is made from the stored photo when first opened.
    if not preview_link or not (getattr(obj, "preview", None) or isinstance(obj, SuPhoto)):
        return image
    return format_html(
        '<a href="{}" class="thumb-link" title="Open the larger picture">{}</a>',
        reverse(f"{prefix}_preview", args=[obj.pk]),
        image,
    )


class PictureViewsMixin:
    """A ModelAdmin mixin: `<pk>/thumbnail/` and `<pk>/preview/` serve the stored JPEGs to staff who may
    view the object (never a public media URL: media storage holds customers' pictures)."""

    picture_fields: tuple[str, ...] = ("thumbnail", "preview")

    def picture_ready(self, obj: Any, field: str) -> Any:
        """The object with `field` stored; an admin whose pictures are made on first view overrides it."""
        return obj

    def get_urls(self) -> list[URLPattern]:
        model_name = self.model._meta.model_name  # type: ignore[attr-defined]
        views = [
            path(
                f"<path:object_id>/{field}/",
                self.admin_site.admin_view(self._picture_view(field)),  # type: ignore[attr-defined]
                name=f"media_sync_{model_name}_{field}",
            )
            for field in self.picture_fields
        ]
        return [*views, *super().get_urls()]  # type: ignore[misc]

    def _picture_view(self, field: str) -> Any:
        def view(request: HttpRequest, object_id: str) -> HttpResponseBase:
            obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
            if obj is None:
                raise Http404(f"No {field}.")
            if not self.has_view_permission(request, obj):  # type: ignore[attr-defined]
                raise PermissionDenied
            obj = self.picture_ready(obj, field)
            if not getattr(obj, field):
                raise Http404(f"No {field}.")
            response = FileResponse(getattr(obj, field).open("rb"), content_type="image/jpeg")
            response["Cache-Control"] = "private, max-age=3600"
            return response

        return view
