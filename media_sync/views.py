"""Public views outside the admin: the signed links providers fetch files from."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponseForbidden
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from media_sync.models import MediaFile
from media_sync.services.media import media_link_valid


@require_GET
def media_link(request: HttpRequest, pk: int, name: str) -> HttpResponseBase:
    """The file behind a signed, expiring link (Booking.com downloads photos from these). No login: the
    signature is the permission; a wrong or expired one gets 403 and no hint which."""
    valid = media_link_valid(
        pk=pk, expires=request.GET.get("expires", ""), signature=request.GET.get("signature", "")
    )
    media = MediaFile.objects.filter(pk=pk).first() if valid else None
    if media is None:
        return HttpResponseForbidden("This link is not valid or has expired.")
    return FileResponse(media.file.open("rb"), content_type=media.mime_type)
