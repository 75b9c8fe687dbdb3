"""Provider webhook receivers: thin views over services.webhooks."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from media_sync.services.webhooks import webhook_corrigopro_receive, webhook_corrigopro_refuse_unread


@csrf_exempt  # CorrigoPro authenticates with its signed bearer token, not a browser session
@require_POST
def corrigopro(request: HttpRequest) -> HttpResponse:
    length = request.headers.get("Content-Length", "")
    if not length.isdigit() or int(length) > settings.WEBHOOK_MAX_BYTES:
        webhook_corrigopro_refuse_unread(event_type=request.headers.get("Event-Type", ""), length=length)
        return JsonResponse({"status": "refused", "reason": "body missing or too large"}, status=413)
    status, word = webhook_corrigopro_receive(
        authorization=request.headers.get("Authorization"),
        event_type=request.headers.get("Event-Type", ""),
        body=request.body,
    )
    return JsonResponse({"status": word}, status=status)
