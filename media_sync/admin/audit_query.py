"""What the audit pages share: the permission to export, the ?since=&until= days, page numbers, and the
list's paging and search, which stay cheap over ten million rows."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.functional import cached_property

from media_sync.admin.filters import parse_day
from media_sync.models import AuditEvent

EXPORT_AUDIT = "media_sync.export_auditevent"
DATES = ("since", "until")


def bad_dates(request: HttpRequest) -> list[str]:
    return [
        f"Not a date: {name}={request.GET[name][:40]}"
        for name in DATES
        if request.GET.get(name, "").strip() and parse_day(request.GET[name]) is None
    ]


def date_range(request: HttpRequest) -> tuple[date, date]:
    """The ?since=&until= days asked for (both included); the last two weeks by default."""
    today = timezone.localdate()
    since = parse_day(request.GET.get("since", "")) or today - timedelta(days=13)
    until = parse_day(request.GET.get("until", "")) or today
    return min(since, until), max(since, until)


# A whole number the database can hold (ASCII digits only: "²".isdigit() is true, int("²") fails).
NUMBER = re.compile(r"[0-9]{1,18}")


def page_number(text: str) -> int | None:
    return int(text) if NUMBER.fullmatch(text) and int(text) >= 1 else None


def without(query: QueryDict, names: set[str]) -> QueryDict:
    kept = query.copy()
    for name in names:
        kept.pop(name, None)
    return kept


class AuditChangeList(ChangeList):
    """A page past the last one shows the first, and says so, instead of the admin's bare "?e=1"."""

    def get_results(self, request: HttpRequest) -> None:
        try:
            super().get_results(request)
        except IncorrectLookupParameters:
            if self.page_num == 1:
                raise
            messages.warning(request, f"There is no page {self.page_num}: the first page is shown.")
            self.page_num = 1
            super().get_results(request)


class EstimatedCountPaginator(Paginator):
    """Counting a million audit rows on every page costs more than the page: the unfiltered list uses
    PostgreSQL's own row estimate, a filtered one counts up to a cap (pages past it stay reachable
    through narrower filters)."""

    cap = 10_000
    # How the count is to be read, for the page to say it: "exact", "estimate" or "at least".
    count_kind = "exact"

    @cached_property
    def count(self) -> int:
        queryset: QuerySet[AuditEvent] = self.object_list  # type: ignore[assignment]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                # The audit is partitioned by month (audit_partitions.py): autovacuum keeps each partition's
                # estimate, never the parent's, so theirs are summed.
                cursor.execute(
                    "SELECT SUM(GREATEST(reltuples, 0))::bigint FROM pg_class WHERE relkind = 'r' AND "
                    "(oid = to_regclass(%s) OR oid IN (SELECT inhrelid FROM pg_inherits "
                    "WHERE inhparent = to_regclass(%s)))",
                    [AuditEvent._meta.db_table] * 2,
                )
                row = cursor.fetchone()
            if row and row[0] > self.cap:
                self.count_kind = "estimate"
                return int(row[0])
        counted = int(queryset.order_by()[: self.cap].count())
        if counted >= self.cap:
            self.count_kind = "at least"
        return counted


# The most rows a search looks up by id first (search_matches); past it, it filters as it is.
SEARCH_IDS = 1000


def search_matches(queryset: QuerySet[AuditEvent], match: Q) -> QuerySet[AuditEvent]:
    """The rows the search matches, as their ids when they are few (almost always: an id names one
    record). Asked for the newest 100 rows of `match` straight away, PostgreSQL guesses from an id's
    column as a whole (a destination order with thousands of rows) that matches are common, walks the
    newest-first index and checks every row: seven seconds at ten million rows for an order with 200.
    The ids are found on the columns' own indexes (no order asked, so no walk), then read by key and
    sorted: a few milliseconds, one query more, whatever the table's size."""
    ids = list(queryset.filter(match).order_by().values_list("pk", flat=True)[: SEARCH_IDS + 1])
    if len(ids) > SEARCH_IDS:  # common enough that the newest are found soon along the index
        return queryset.filter(match)
    return queryset.filter(pk__in=ids)
