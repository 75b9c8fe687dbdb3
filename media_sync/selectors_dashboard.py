"""Reads for the dashboard: items that ended per provider and day (each item once, by its last result), the
top causes of failure, jobs running now, and what the checks at the provider confirmed."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from media_sync.models import (
    AuditEvent,
    AuditKind,
    CheckResult,
    ItemStatus,
    JobStatus,
    Outcome,
    Provider,
    TransferItem,
    TransferJob,
)
from media_sync.selectors import audit_filter, with_item_counts

# --- Dashboard -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayVolume:
    day: date
    provider: str
    total: int
    failed: int


@contextmanager
def dashboard_reads() -> Iterator[None]:
    """The dashboard's counts, each over every result of the period (millions at ten million rows), read
    the way such a report is best read on PostgreSQL, for this transaction only: no JIT compilation (half
    a second per query to compile what runs once); enough memory to hash the groups and sort the pages of
    a bitmap scan instead of walking an index into the table row by row; and a cursor's plan (the top
    causes are read through one) made for reading every row, not for a quick first tenth of them
    (bench/audit_scale.py, "dashboard")."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; SET LOCAL cursor_tuple_fraction = 1"
        )
        yield


def later_result() -> QuerySet[AuditEvent]:
    """A later item result of the same item (job, item, destination) as the outer row: one look-up on
    the item's (item, -timestamp) index."""
    return AuditEvent.objects.filter(
        Q(timestamp__gt=OuterRef("timestamp")) | Q(timestamp=OuterRef("timestamp"), id__gt=OuterRef("id")),
        kind=AuditKind.ITEM,
        job=OuterRef("job"),
        item=OuterRef("item"),
        destination=OuterRef("destination"),
    )


def item_endings(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """Of these item results, each item's last one: an item that failed, was retried and then succeeded
    counts once, as a success, on the day it succeeded. A result followed by any later row of the same
    item (job, item, destination) is left out, a pending one too: that item had not ended yet. Rows of
    other kinds (refusals, webhooks) pass through. A success is always an item's last result (only failed
    items are retried), so only the other rows are looked after: at a million rows, most rows and most of
    the work (bench/audit_scale.py, "dashboard")."""
    return events.exclude(Q(kind=AuditKind.ITEM) & ~Q(outcome=Outcome.SUCCEEDED) & Exists(later_result()))


def superseded(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """What `item_endings` leaves out of these rows: item results, not successes, with a later one."""
    return (
        events.filter(kind=AuditKind.ITEM).exclude(outcome=Outcome.SUCCEEDED).filter(Exists(later_result()))
    )


def dashboard_volume(*, since: date, until: date) -> list[DayVolume]:
    """Items that ended per provider per day, and how many of them failed in the end: each item once, by
    its last result (`item_endings`), not once per attempt. Counted as every result of the range less
    those a later one superseded, two grouped queries: the first reads only the (kind, -timestamp) index,
    which holds provider and outcome, never the table (at ten million rows, millions of results); the
    second reads the few results that did not succeed, each with a look-up for a later one
    (audit_unsettled_recent holds what that look-up needs)."""
    results = audit_filter(
        since=since, until=until, queryset=AuditEvent.objects.filter(kind=AuditKind.ITEM)
    ).exclude(outcome=Outcome.PENDING)
    counts: dict[tuple[date, str], list[int]] = {}
    for events, sign in ((results, 1), (superseded(results), -1)):
        rows = (
            events.annotate(day=TruncDate("timestamp", tzinfo=timezone.get_current_timezone()))
            .values_list("day", "provider")
            # Not COUNT(id): the id is not in the index the first query reads alone.
            .annotate(total=Count("*"), failed=Count("outcome", filter=Q(outcome=Outcome.FAILED)))
            .order_by()
        )
        for day, provider, total, failed in rows:
            tally = counts.setdefault((day, provider), [0, 0])
            tally[0] += sign * total
            tally[1] += sign * failed
    return [
        DayVolume(day, provider, total, failed)
        for (day, provider), (total, failed) in sorted(counts.items(), key=lambda item: item[0][::-1])
        if total
    ]


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBERED = re.compile(r"\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b|\w*\d\w*", re.IGNORECASE)


def failure_pattern(message: str) -> str:
    """A failure's message with ids and numbers taken out (a quoted name, a UUID, a word with a digit in
    it: 123, PHOTO-1, 9f3c2a): the cause the dashboard's top causes and the failure groups count by."""
    return " ".join(_NUMBERED.sub("#", _QUOTED.sub("'…'", message)).split())[:300]


def dashboard_top_failures(*, since: date, until: date, limit: int = 10) -> list[dict[str, Any]]:
    """The most frequent failure causes: provider, class and message pattern (`failure_pattern`), with
    their counts. An item counts once, by the cause it failed with in the end (`item_endings`): a retried
    item that then succeeded is no failure here. The database counts each distinct message; patterns are
    folded here, a row at a time. A check that finds a delivered item gone is not a failure of the work
    (the item succeeded): the job page and the charts' "confirmed at the provider" say it."""
    rows = (
        item_endings(audit_filter(since=since, until=until, outcome=Outcome.FAILED))
        .exclude(kind__in=(AuditKind.HTTP, AuditKind.CHECK))
        .values("provider", "failure_class", "message")
        .annotate(n=Count("id"))
        .order_by()
    )
    causes: Counter[tuple[str, str, str]] = Counter()  # a few patterns, however many messages
    for row in rows.iterator():
        causes[(row["provider"], row["failure_class"], failure_pattern(row["message"]))] += row["n"]
    return [
        {"provider": provider, "failure_class": failure_class, "message": pattern, "n": n}
        for (provider, failure_class, pattern), n in causes.most_common(limit)
    ]


def jobs_open(*, stale_after: timedelta) -> tuple[list[TransferJob], list[TransferJob]]:
    """Jobs running now, with their item counts, and those among them whose items have not moved for
    `stale_after`."""
    jobs: list[TransferJob] = list(
        with_item_counts(TransferJob.objects.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING)))
        .annotate(last_activity=Max("items__updated_at"))
        .order_by("-created_at")[:50]
    )
    cutoff = timezone.now() - stale_after
    stuck = [job for job in jobs if (job.last_activity or job.created_at) < cutoff]  # type: ignore[attr-defined]
    return jobs, stuck


@dataclass(frozen=True)
class DayBar:
    """One day of a provider's chart; the heights are percent of the busiest provider-day in the range."""

    day: date
    total: int
    failed: int
    height: int
    failed_height: int


@dataclass(frozen=True)
class ProviderChart:
    provider: str
    label: str
    bars: list[DayBar]
    total: int
    failed: int
    rate: float  # percent of the results that failed, to one decimal
    # The succeeded items of the range's jobs, and how many of them the latest check confirmed.
    succeeded: int = 0
    confirmed: int = 0


# A chart draws at most this many days (a quarter) from the range's first.
CHART_DAYS = 92


def dashboard_charts(*, since: date, until: date) -> list[ProviderChart]:
    """Every provider's item results per day, and how many failed, one bar a day, all on one scale."""
    days = [since + timedelta(days=n) for n in range(min((until - since).days + 1, CHART_DAYS))]
    volume = dashboard_volume(since=since, until=until)
    peak = max((row.total for row in volume), default=0) or 1
    by_key = {(row.provider, row.day): row for row in volume}
    checked = dashboard_confirmed(since=since, until=until)
    charts = []
    for provider, label in Provider.choices:
        rows = [by_key.get((provider, day)) for day in days]
        bars = [
            DayBar(day, row.total, row.failed, round(100 * row.total / peak), round(100 * row.failed / peak))
            if row
            else DayBar(day, 0, 0, 0, 0)
            for day, row in zip(days, rows, strict=True)
        ]
        total = sum(bar.total for bar in bars)
        failed = sum(bar.failed for bar in bars)
        rate = round(100 * failed / total, 1) if total else 0
        succeeded, confirmed = checked.get(provider, (0, 0))
        charts.append(ProviderChart(provider, label, bars, total, failed, rate, succeeded, confirmed))
    return charts


def dashboard_confirmed(*, since: date, until: date) -> dict[str, tuple[int, int]]:
    """Per provider: the succeeded items of jobs created in the range, and how many of them the latest
    check at the provider confirmed (one grouped query)."""
    start = timezone.make_aware(datetime.combine(since, time.min))
    end = timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min))
    rows = (
        TransferItem.objects.filter(
            status=ItemStatus.SUCCEEDED, job__created_at__gte=start, job__created_at__lt=end
        )
        .values("job__provider")
        .annotate(n=Count("id"), confirmed=Count("id", filter=Q(check_result=CheckResult.CONFIRMED)))
        .order_by()
    )
    return {row["job__provider"]: (row["n"], row["confirmed"]) for row in rows}
