"""Failure-rate alerts: when a provider's items fail too often, the team leads hear of it once a window."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from media_sync.metrics import ALERTS
from media_sync.models import AuditEvent, AuditKind, FailureAlert, FailureGroup, ItemStatus, Outcome, Provider
from media_sync.selectors_dashboard import item_endings
from media_sync.selectors_triage import with_failed_counts
from media_sync.services.triage_mail import group_line, team_lead_emails


def _window_start(now: datetime, minutes: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % (minutes * 60), tz=now.tzinfo)


def alerts_check(*, now: datetime | None = None) -> list[FailureAlert]:
    """Compare each provider's item failure rate over the last window with the threshold; send at most
    one email per provider per window (a unique row decides, even with two schedulers)."""
    now = now or timezone.now()
    minutes = settings.MEDIA_SYNC_ALERT_WINDOW_MINUTES
    since = now - timedelta(minutes=minutes)
    # Each item once, by its last result (as the dashboard counts): an item that failed three times
    # before it was given up on is one failed item, not three.
    window = AuditEvent.objects.filter(kind=AuditKind.ITEM, timestamp__gte=since, timestamp__lte=now)
    counts = (
        item_endings(window)
        .exclude(outcome=Outcome.PENDING)
        .values("provider")
        .annotate(total=Count("id"), failed=Count("id", filter=Q(outcome=Outcome.FAILED)))
    )
    sent = []
    for row in counts:
        total, failed = row["total"], row["failed"]
        if (
            total < settings.MEDIA_SYNC_ALERT_MIN_ITEMS
            or failed / total < settings.MEDIA_SYNC_ALERT_THRESHOLD
        ):
            continue
        try:
            with transaction.atomic():
                alert = FailureAlert.objects.create(
                    provider=row["provider"],
                    window_start=_window_start(now, minutes),
                    total=total,
                    failed=failed,
                )
        except IntegrityError:
            continue  # this window's email already went out
        alert.recipients = _send(alert, since=since, until=now)
        FailureAlert.objects.filter(pk=alert.pk).update(recipients=alert.recipients)
        sent.append(alert)
    return sent


def alert_groups(provider: str, *, since: datetime, limit: int = 10) -> list[FailureGroup]:
    """The provider's failure groups with items failed in the window, the most failed first."""
    groups = FailureGroup.objects.filter(
        provider=provider, items__status=ItemStatus.FAILED, items__updated_at__gte=since
    ).distinct()
    return list(with_failed_counts(groups.select_related("owner")).order_by("-failed", "opened_at")[:limit])


def _send(alert: FailureAlert, *, since: datetime, until: datetime) -> int:
    recipients = team_lead_emails()
    if not recipients:
        return 0
    label = Provider(alert.provider).label
    rate = round(100 * alert.failed / alert.total)
    link = (
        f"{settings.MEDIA_SYNC_PUBLIC_BASE_URL.rstrip('/')}{reverse('admin:media_sync_auditevent_changelist')}"
        f"?provider__exact={alert.provider}&outcome__exact=failed&kind__exact=item"
        f"&since={timezone.localtime(since):%Y-%m-%d}"
    )
    minutes = settings.MEDIA_SYNC_ALERT_WINDOW_MINUTES
    causes = "".join(f"{group_line(group, until)}\n" for group in alert_groups(alert.provider, since=since))
    send_mail(
        subject=f"media-sync: {label} failure rate {rate} % in the last {minutes} min",
        message=(
            f"{alert.failed} of {alert.total} {label} items failed between {since:%Y-%m-%d %H:%M} and "
            f"{until:%H:%M} ({rate} %, the threshold is {settings.MEDIA_SYNC_ALERT_THRESHOLD:.0%}).\n\n"
            f"The causes, each a failure group to triage:\n{causes or '(none grouped)'}\n"
            f"Every failed item of the window in the audit: {link}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
    ALERTS.labels(alert.provider).inc()
    return len(recipients)
