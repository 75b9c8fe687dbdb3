"""Reads: audit queries and job summaries."""

from __future__ import annotations

from datetime import date, datetime, time

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from media_sync.models import AuditEvent, ItemStatus, TransferJob


def audit_filter(
    *,
    since: date | None = None,
    until: date | None = None,
    provider: str | None = None,
    outcome: str | None = None,
    queryset: QuerySet[AuditEvent] | None = None,
) -> QuerySet[AuditEvent]:
    """Audit rows in a date range (both days included, in the site's time zone), oldest first."""
    events = AuditEvent.objects.all() if queryset is None else queryset
    if since:
        events = events.filter(timestamp__gte=timezone.make_aware(datetime.combine(since, time.min)))
    if until:
        events = events.filter(timestamp__lte=timezone.make_aware(datetime.combine(until, time.max)))
    if provider:
        events = events.filter(provider=provider)
    if outcome:
        events = events.filter(outcome=outcome)
    return events


def jobs_with_progress(queryset: QuerySet[TransferJob] | None = None) -> QuerySet[TransferJob]:
    """Jobs annotated with item counts per state, in one query."""
    jobs = TransferJob.objects.all() if queryset is None else queryset
    return jobs.annotate(
        total_items=Count("items"),
        succeeded_items=Count("items", filter=Q(items__status=ItemStatus.SUCCEEDED)),
        failed_items=Count("items", filter=Q(items__status=ItemStatus.FAILED)),
    )


def job_item_counts(job: TransferJob) -> dict[str, int]:
    """How many of the job's items are in each state (every state present, zero included)."""
    counts = dict.fromkeys(ItemStatus.values, 0)
    for row in job.items.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts
