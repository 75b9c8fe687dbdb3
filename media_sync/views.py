"""Views outside the admin: the signed links providers fetch files from, the health check, the metrics."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET

from media_sync.health import health_probe, workers_last_seen, workers_quiet
from media_sync.metrics import metrics_text
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


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and media storage answer, else 503 naming what does not; with
    `?workers=1` also 503 when no qcluster reported within a minute. No login (a load balancer asks),
    and nothing in the body but states and a time."""
    states = health_probe()
    seen = workers_last_seen() if states["database"] == "ok" else None
    healthy = all(state == "ok" for state in states.values())
    if request.GET.get("workers") == "1" and workers_quiet(seen):
        healthy = False
        states["workers"] = "no qcluster seen within a minute"
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": states,
        "workers_last_seen": seen.isoformat() if seen else None,
    }
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text, only to `Authorization: Bearer <MEDIA_SYNC_METRICS_TOKEN>`; with no token set,
    to nobody."""
    token = settings.MEDIA_SYNC_METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer" or not constant_time_compare(given.strip(), token):
        response = HttpResponse("A metrics token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(metrics_text(), content_type="text/plain; version=0.0.4; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
