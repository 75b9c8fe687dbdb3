from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from media_sync.admin.base import ReadOnlyAdminMixin
from media_sync.admin.filters import (
    DateRangeFilter,
    ErrorCodeFilter,
    FailureClassFilter,
    OperationFilter,
    UserFilter,
    parse_day,
)
from media_sync.models import AuditEvent, Provider
from media_sync.reports import audit_csv_lines, summary_csv_lines
from media_sync.selectors import audit_filter, dashboard_top_failures, dashboard_volume, jobs_open

EXPORT_AUDIT = "media_sync.export_auditevent"
SUBJECT = re.compile(r"(?P<kind>work order|order|property) (?P<id>[\w-]+)")
SUBJECT_LISTS = {"order": "recoveryconnectorder", "work order": "corrigoworkorder", "property": "suproperty"}


def _range(request: HttpRequest) -> tuple[date, date]:
    """The ?since=&until= days asked for (both included); the last two weeks by default."""
    today = timezone.localdate()
    since = parse_day(request.GET.get("since", "")) or today - timedelta(days=13)
    until = parse_day(request.GET.get("until", "")) or today
    return min(since, until), max(since, until)


class EstimatedCountPaginator(Paginator):
    """Counting a million audit rows on every page costs more than the page: the unfiltered list uses
    PostgreSQL's own row estimate, a filtered one counts up to a cap (pages past it stay reachable
    through narrower filters)."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        queryset: QuerySet[AuditEvent] = self.object_list  # type: ignore[assignment]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [AuditEvent._meta.db_table]
                )
                row = cursor.fetchone()
            if row and row[0] > self.cap:
                return int(row[0])
        return int(queryset.order_by()[: self.cap].count())


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only for everyone, superusers included; the database refuses changes as well."""

    list_display = [
        "when",
        "provider",
        "operation",
        "job_link",
        "subject_link",
        "item",
        "destination",
        "outcome",
        "provider_status",
        "http_status",
        "short_message",
        "triggered_by",
    ]
    list_filter = [
        DateRangeFilter,
        "provider",
        "outcome",
        "kind",
        OperationFilter,
        FailureClassFilter,
        ErrorCodeFilter,
        UserFilter,
    ]
    paginator = EstimatedCountPaginator
    search_fields = ["=item", "=destination", "=reference"]
    search_help_text = (
        "An exact id: photo, order, work order, attachment, batch, property or provider reference."
    )
    list_select_related = ["job"]
    show_full_result_count = False
    # "Show counts" would count every filter choice over the whole table on each page.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    readonly_fields = fields = (
        "timestamp",
        "kind",
        "provider",
        "operation",
        "job",
        "subject",
        "item",
        "destination",
        "outcome",
        "provider_status",
        "http_status",
        "error_code",
        "failure_class",
        "message",
        "reference",
        "attempt",
        "duration_ms",
        "triggered_by",
        "method",
        "path",
        "request_summary",
        "response_summary",
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent], search_term: str
    ) -> tuple[QuerySet[AuditEvent], bool]:
        """Exact ids only, each on an index: photo, attachment, batch and reference ids, and the order,
        work order or property a row is about. No substring scan of a million rows."""
        term = search_term.strip()
        if not term:
            return queryset, False
        # Case-sensitive on purpose: the admin's own "=" search is iexact, which no plain index serves.
        subjects = [f"{kind} {term}" for kind in SUBJECT_LISTS]
        match = Q(item=term) | Q(destination=term) | Q(reference=term) | Q(subject__in=subjects)
        return queryset.filter(match), False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The job page links here with ?job=<id>.
        return lookup == "job" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="timestamp", ordering="timestamp")
    def when(self, event: AuditEvent) -> str:
        return f"{timezone.localtime(event.timestamp):%Y-%m-%d %H:%M:%S}"

    @admin.display(description="job", ordering="job")
    def job_link(self, event: AuditEvent) -> str:
        if event.job_id is None:
            return "—"
        url = reverse("admin:media_sync_transferjob_change", args=[event.job_id])
        return format_html('<a href="{}">{}</a>', url, event.job_id)

    @admin.display(description="subject", ordering="subject")
    def subject_link(self, event: AuditEvent) -> str:
        """The order, work order or property the row is about: a search of its list, no query per row."""
        match = SUBJECT.match(event.subject)
        if match is None:
            return event.subject or "—"
        url = reverse(f"admin:media_sync_{SUBJECT_LISTS[match['kind']]}_changelist") + f"?q={match['id']}"
        return format_html('<a href="{}">{}</a>', url, event.subject)

    @admin.display(description="message")
    def short_message(self, event: AuditEvent) -> str:
        return event.message if len(event.message) <= 120 else event.message[:119] + "…"

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export/", self.admin_site.admin_view(self.export_view), name="media_sync_auditevent_export"
        )
        dashboard = path(
            "dashboard/", self.admin_site.admin_view(self.dashboard_view), name="media_sync_dashboard"
        )
        summary = path(
            "summary/", self.admin_site.admin_view(self.summary_view), name="media_sync_auditevent_summary"
        )
        return [export, dashboard, summary, *super().get_urls()]

    def summary_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """Counts per day x provider x operation x outcome for a date range, as CSV."""
        if not (self.has_view_permission(request) and request.user.has_perm(EXPORT_AUDIT)):
            raise PermissionDenied
        since, until = _range(request)
        events = audit_filter(since=since, until=until)
        lines = summary_csv_lines(events, bom="bom" in request.GET)
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-summary-{since}-{until}.csv"'
        return response

    def dashboard_view(self, request: HttpRequest) -> TemplateResponse:
        """The team lead's first page: volume and failure rate per provider per day, the top causes of
        failure (each a link to those audit rows), jobs running now and jobs that look stuck."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        since, until = _range(request)
        days = [since + timedelta(days=n) for n in range(min((until - since).days + 1, 92))]
        volume = dashboard_volume(since=since, until=until)
        peak = max((row.total for row in volume), default=0) or 1
        by_key = {(row.provider, row.day): row for row in volume}
        charts = []
        for provider, label in Provider.choices:
            rows = [by_key.get((provider, day)) for day in days]
            total = sum(row.total for row in rows if row)
            failed = sum(row.failed for row in rows if row)
            bars = [
                {
                    "day": day,
                    "total": row.total if row else 0,
                    "failed": row.failed if row else 0,
                    "height": round(100 * row.total / peak) if row else 0,
                    "failed_height": round(100 * row.failed / peak) if row else 0,
                }
                for day, row in zip(days, rows, strict=True)
            ]
            charts.append(
                {
                    "provider": provider,
                    "label": label,
                    "bars": bars,
                    "total": total,
                    "failed": failed,
                    "rate": round(100 * failed / total, 1) if total else 0,
                }
            )
        audit = reverse("admin:media_sync_auditevent_changelist")
        window = f"since={since.isoformat()}&until={until.isoformat()}"
        failures = [
            {
                **row,
                "url": f"{audit}?outcome__exact=failed&provider__exact={row['provider']}"
                f"&failure_class__exact={row['failure_class']}&{window}",
            }
            for row in dashboard_top_failures(since=since, until=until)
        ]
        running, stuck = jobs_open(stale_after=timedelta(seconds=settings.MEDIA_SYNC_STALE_AFTER))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Dashboard",
            "since": since,
            "until": until,
            "charts": charts,
            "failures": failures,
            "running": running,
            "stuck": {job.pk for job in stuck},
            "audit_url": f"{audit}?{window}",
            "can_export": request.user.has_perm(EXPORT_AUDIT),
        }
        return TemplateResponse(request, "admin/media_sync/dashboard.html", context)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra_context = {**(extra_context or {}), "can_export": request.user.has_perm(EXPORT_AUDIT)}
        return super().changelist_view(request, extra_context)

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """Exactly the rows of the list's current filters and search, streamed."""
        if not (self.has_view_permission(request) and request.user.has_perm(EXPORT_AUDIT)):
            raise PermissionDenied
        params = request.GET.copy()
        bom = params.pop("bom", None) is not None
        request.GET = params  # type: ignore[assignment]  # the list's own filters, less ours
        changelist = self.get_changelist_instance(request)
        events = changelist.get_queryset(request)
        filename = f"audit-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
        response = StreamingHttpResponse(
            audit_csv_lines(events, bom=bom), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
