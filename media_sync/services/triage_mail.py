"""The daily summary of open failures, mailed to the team leads (off unless MEDIA_SYNC_TRIAGE_SUMMARY),
and the links to failure groups that it and the failure-rate alerts carry."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from media_sync.models import STILL_OPEN, FailureGroup, Provider
from media_sync.roles import TEAM_LEADS
from media_sync.selectors_triage import with_failed_counts

# The summary names at most this many groups, oldest first; the page has the rest.
SUMMARY_GROUPS = 50


def site_url(path: str) -> str:
    return f"{settings.MEDIA_SYNC_PUBLIC_BASE_URL.rstrip('/')}{path}"


def group_link(group: FailureGroup) -> str:
    return site_url(reverse("admin:media_sync_failuregroup_change", args=[group.pk]))


def team_lead_emails() -> list[str]:
    return list(
        User.objects.filter(groups__name=TEAM_LEADS, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )


def group_line(group: FailureGroup, now: datetime) -> str:
    """One group in a mail: its failed items now, provider, cause, age, owner, and its page."""
    owner = group.owner.username if group.owner else "nobody"
    return (
        f"- {group.failed} failed, {Provider(group.provider).label}: {group.pattern[:120]} "  # type: ignore[attr-defined]
        f"(open {timesince(group.opened_at, now, depth=1)}, {group.get_status_display().lower()}, "
        f"owner {owner})\n  {group_link(group)}"
    )


def triage_summary_send(*, now: datetime | None = None) -> int:
    """Mail the team leads what is still open (open or acknowledged), oldest first; nothing when the
    summary is off, nothing is open or nobody has an address. The number of recipients comes back."""
    if not settings.MEDIA_SYNC_TRIAGE_SUMMARY:
        return 0
    now = now or timezone.now()
    still_open = FailureGroup.objects.filter(status__in=STILL_OPEN)
    total = still_open.count()
    recipients = team_lead_emails()
    if not total or not recipients:
        return 0
    groups = with_failed_counts(still_open.select_related("owner")).order_by("opened_at", "id")
    lines = [group_line(group, now) for group in groups[:SUMMARY_GROUPS]]
    more = f"\n…and {total - SUMMARY_GROUPS} more." if total > SUMMARY_GROUPS else ""
    page = site_url(reverse("admin:media_sync_failuregroup_changelist"))
    send_mail(
        subject=f"media-sync: {total} failure group{'s' * (total != 1)} still open",
        message="Still open, oldest first:\n\n" + "\n".join(lines) + more + f"\n\nOpen failures: {page}\n",
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)
