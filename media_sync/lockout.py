"""Login lockouts (django-axes): the client's address, and an audit row for every lockout."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from media_sync.models import AuditEvent, AuditKind, Operation, Outcome

# Only the TLS proxy in front, on this machine, may say who the client is (deploy/nginx.conf sets X-Real-IP).
TRUSTED_PROXIES = {"127.0.0.1", "::1"}


def client_address(request: HttpRequest) -> str:
    remote = str(request.META.get("REMOTE_ADDR", ""))
    forwarded = str(request.META.get("HTTP_X_REAL_IP", "")).strip()
    return forwarded if remote in TRUSTED_PROXIES and forwarded else remote


def audit_record_lockout(*, username: str, address: str, path: str) -> AuditEvent:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return AuditEvent.objects.create(
        kind=AuditKind.LOCKOUT,
        provider="",
        operation=Operation.LOGIN_LOCKOUT,
        subject=f"user {username}"[:200],
        item=address[:100],
        outcome=Outcome.FAILED,
        http_status=429,  # what axes answers the locked-out attempt
        message=(
            f"{settings.AXES_FAILURE_LIMIT} wrong passwords in a row for {username!r} from {address}: "
            f"that username is locked out from that address for {minutes} minutes"
        ),
        method="POST",
        path=path[:300],
    )


def on_locked_out(sender: Any, request: HttpRequest, username: str, ip_address: str, **kwargs: Any) -> None:
    # Axes says so again on every attempt during the lockout: one row, when it starts.
    if getattr(request, "axes_failures_since_start", None) != settings.AXES_FAILURE_LIMIT:
        return
    audit_record_lockout(username=username or "", address=ip_address or "", path=request.path)
