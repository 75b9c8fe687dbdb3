from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from media_sync.admin import display
from media_sync.admin.base import ReadOnlyAdminMixin
from media_sync.admin.filters import (
    ChoicesFilter,
    DateRangeFilter,
    ErrorCodeFilter,
    FailureClassFilter,
    OperationFilter,
    UserFilter,
    parse_day,
)
from media_sync.models import AuditEvent, AuditKind
from media_sync.reports import audit_csv_lines, summary_csv_lines
from media_sync.selectors import (
    audit_filter,
    audit_timeline,
    dashboard_charts,
    dashboard_top_failures,
    item_counts,
    jobs_open,
)

EXPORT_AUDIT = "media_sync.export_auditevent"
SUBJECT_LISTS = {"order": "recoveryconnectorder", "work order": "corrigoworkorder", "property": "suproperty"}
DATES = ("since", "until")
# The changelist's own parameters (page, order, search, its error flag, show all, facets).
CHANGELIST_PARAMS = ("p", "o", "q", "e", "all", "_facets")


def _bad_dates(request: HttpRequest) -> list[str]:
    return [
        f"Not a date: {name}={request.GET[name][:40]}"
        for name in DATES
        if request.GET.get(name, "").strip() and parse_day(request.GET[name]) is None
    ]


def _range(request: HttpRequest) -> tuple[date, date]:
    """The ?since=&until= days asked for (both included); the last two weeks by default."""
    today = timezone.localdate()
    since = parse_day(request.GET.get("since", "")) or today - timedelta(days=13)
    until = parse_day(request.GET.get("until", "")) or today
    return min(since, until), max(since, until)


# A whole number the database can hold (ASCII digits only: "²".isdigit() is true, int("²") fails).
NUMBER = re.compile(r"[0-9]{1,18}")


def _page_number(text: str) -> int | None:
    return int(text) if NUMBER.fullmatch(text) and int(text) >= 1 else None


def _without(query: QueryDict, names: set[str]) -> QueryDict:
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

    # What a team lead reads first, in 1366 pixels: the provider's own status, codes and reference are
    # on the row's page.
    list_display = [
        "when",
        "provider",
        "operation_label",
        "subject_link",
        "item_link",
        "outcome_badge",
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
        "request_json",
        "response_json",
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

    @admin.display(description="time", ordering="timestamp")
    def when(self, event: AuditEvent) -> str:
        when = timezone.localtime(event.timestamp)
        # The day and the time wrap as two lines, never inside either.
        return format_html('<span class="nowrap">{}</span> {}', f"{when:%Y-%m-%d}", f"{when:%H:%M:%S}")

    @admin.display(description="operation", ordering="operation")
    def operation_label(self, event: AuditEvent) -> str:
        return display.operation_words(event.operation)

    @admin.display(description="subject", ordering="subject")
    def subject_link(self, event: AuditEvent) -> str:
        """One record: a link to its timeline. A job about many: their count, a link to the job."""
        if not event.subject:
            return "—"
        short = display.subject_short(event.subject)
        if short == event.subject:
            return display.linked(event.subject, display.subject_timeline(event.subject))
        if event.job_id is None:
            return short
        url = reverse("admin:media_sync_transferjob_change", args=[event.job_id])
        return format_html('<a href="{}" title="Job {}: every item">{}</a>', url, event.job_id, short)

    @admin.display(description="item → destination")
    def item_link(self, event: AuditEvent) -> str:
        if not event.item:
            return "—"
        item = display.linked(
            display.truncated(event.item, 28), display.item_timeline(event), f"Timeline of {event.item}"
        )
        if not event.destination:
            return item
        destination = display.truncated(event.destination, 24)
        return format_html('{} <span class="nowrap">→ {}</span>', item, destination)

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, event: AuditEvent) -> str:
        return display.outcome_badge(event.outcome)

    @admin.display(description="message")
    def short_message(self, event: AuditEvent) -> str:
        return display.truncated(event.message) if event.message else ""

    @admin.display(description="request")
    def request_json(self, event: AuditEvent) -> str:
        return format_html('<pre class="exchange">{}</pre>', display.pretty_json(event.request_summary))

    @admin.display(description="response")
    def response_json(self, event: AuditEvent) -> str:
        return format_html('<pre class="exchange">{}</pre>', display.pretty_json(event.response_summary))

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        """A row about one record links that record's timeline among its object tools."""
        target = display.subject_timeline(obj.subject) if obj is not None else None
        if target is not None:
            context["timeline_url"] = display.timeline_url(*target)
        return super().render_change_form(request, context, add, change, form_url, obj)

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
        timeline = path(
            "timeline/<str:kind>/<str:key>/",
            self.admin_site.admin_view(self.timeline_view),
            name="media_sync_auditevent_timeline",
        )
        timeline_export = path(
            "timeline/<str:kind>/<str:key>/export/",
            self.admin_site.admin_view(self.timeline_export_view),
            name="media_sync_auditevent_timeline_export",
        )
        return [export, dashboard, summary, timeline, timeline_export, *super().get_urls()]

    def summary_view(self, request: HttpRequest) -> HttpResponseBase:
        """Counts per day x provider x operation x outcome for a date range, as CSV."""
        if not (self.has_view_permission(request) and request.user.has_perm(EXPORT_AUDIT)):
            raise PermissionDenied
        if bad := _bad_dates(request):
            for reason in bad:
                messages.warning(request, f"{reason}: nothing was exported.")
            return HttpResponseRedirect(reverse("admin:media_sync_dashboard"))
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
        for reason in _bad_dates(request):
            messages.warning(request, f"{reason}; the last two weeks are shown instead.")
        since, until = _range(request)
        charts = dashboard_charts(since=since, until=until)
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
            "running": [(job, item_counts(job)) for job in running],
            "stuck": {job.pk for job in stuck},
            "audit_url": f"{audit}?{window}",
            "can_export": request.user.has_perm(EXPORT_AUDIT),
        }
        return TemplateResponse(request, "admin/media_sync/dashboard.html", context)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AuditChangeList

    def bad_params(self, request: HttpRequest) -> dict[str, str]:
        """Each query parameter the list cannot use, by name, with the reason said to the reader."""
        choices: dict[str, tuple[str, ...]] = {}
        for spec in self.list_filter:
            if isinstance(spec, str):
                field_choices = getattr(AuditEvent._meta.get_field(spec), "choices", None) or ()
                choices[f"{spec}__exact"] = tuple(str(value) for value, _ in field_choices)
            elif isinstance(spec, type) and issubclass(spec, ChoicesFilter):
                choices[str(spec.parameter_name)] = spec.choices_source
        columns = len(self.get_list_display(request)) + bool(self.get_actions(request))
        known = {*CHANGELIST_PARAMS, *DATES, *choices, "error_code", "triggered_by", "job"}
        bad: dict[str, str] = {}
        for name in request.GET:
            value = request.GET[name]
            shown = f"{name}={value[:40]}"
            if name not in known:
                bad[name] = f"No such filter: {shown}"
            elif "\x00" in value:  # PostgreSQL refuses NUL in a string
                bad[name] = f"Not readable (a NUL character): {name}"
            elif name == "p" and _page_number(value) is None:
                bad[name] = f"Not a page number: {shown}"
            elif name == "o" and not all(
                NUMBER.fullmatch(part.rpartition("-")[2]) and int(part.rpartition("-")[2]) < columns
                for part in value.split(".")
                if part
            ):
                bad[name] = f"Not a column to sort by: {shown}"
            elif name == "job" and not NUMBER.fullmatch(value):
                bad[name] = f"Not a job id: {shown}"
            elif name in choices and value not in choices[name]:
                bad[name] = f"Not one of the choices: {shown}"
        bad.update({reason.split(": ")[1].split("=")[0]: reason for reason in _bad_dates(request)})
        return bad

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """A parameter the list cannot use is left out and named in a message; the rest still apply."""
        if bad := self.bad_params(request):
            for reason in bad.values():
                messages.warning(request, f"{reason}. The list is shown without it.")
            request.GET = _without(request.GET, set(bad))  # type: ignore[assignment]
        extra_context = {**(extra_context or {}), "can_export": request.user.has_perm(EXPORT_AUDIT)}
        return super().changelist_view(request, extra_context)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """Exactly the rows of the list's current filters and search, streamed. A parameter the list
        cannot use exports nothing: the list opens without it, saying why."""
        if not (self.has_view_permission(request) and request.user.has_perm(EXPORT_AUDIT)):
            raise PermissionDenied
        params = request.GET.copy()
        bom = params.pop("bom", None) is not None
        request.GET = params  # type: ignore[assignment]  # the list's own filters, less ours
        if bad := self.bad_params(request):
            for reason in bad.values():
                messages.warning(request, f"{reason}. Nothing was exported.")
            kept = _without(params, set(bad)).urlencode()
            return HttpResponseRedirect(
                reverse("admin:media_sync_auditevent_changelist") + f"?{kept}" * bool(kept)
            )
        request.GET = _without(params, {"p"})  # type: ignore[assignment]  # every page, not one
        changelist = self.get_changelist_instance(request)
        events = changelist.get_queryset(request)
        filename = f"audit-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
        response = StreamingHttpResponse(
            audit_csv_lines(events, bom=bom), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def _timeline(self, request: HttpRequest, kind: str, key: str) -> QuerySet[AuditEvent]:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            if "\x00" in key or len(key) > 200:
                raise ValueError("not an id")
            events = audit_timeline(kind, key)
        except ValueError as error:
            raise Http404(str(error)) from error
        since, until = (parse_day(request.GET.get(name, "")) for name in DATES)
        return audit_filter(since=since, until=until, queryset=events)

    @staticmethod
    def _window(request: HttpRequest) -> QueryDict:
        """The timeline's readable ?since=&until=, kept by its page and export links."""
        days = QueryDict(mutable=True)
        for name in DATES:
            if parse_day(request.GET.get(name, "")):
                days[name] = request.GET[name]
        return days

    def timeline_view(self, request: HttpRequest, kind: str, key: str) -> TemplateResponse:
        """Every audit row about one record, newest first, a page at a time; from and to a day if asked."""
        events = self._timeline(request, kind, key)
        for reason in _bad_dates(request):
            messages.warning(request, f"{reason}; the timeline is shown without it.")
        paginator = EstimatedCountPaginator(events, self.list_per_page)
        asked = request.GET.get("p", "1")
        number = _page_number(asked)
        if number is None or number > paginator.num_pages:
            messages.warning(request, f"There is no page {asked[:40]}: the first page is shown.")
            number = 1
        page = paginator.page(number)
        rows = [
            {
                "event": event,
                "url": reverse("admin:media_sync_auditevent_change", args=[event.pk]),
                "kind": AuditKind(event.kind).label if event.kind in AuditKind.values else event.kind,
                "operation": display.operation_words(event.operation),
                "item": self.item_link(event),
                "outcome": display.outcome_badge(event.outcome),
                "message": self.short_message(event),
            }
            for event in page.object_list
        ]
        noun = {"workorder": "work order"}.get(kind, kind)
        window = self._window(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Timeline of {noun} {key}",
            "rows": rows,
            "page": page,
            "export_url": reverse("admin:media_sync_auditevent_timeline_export", args=[kind, key]),
            "can_export": request.user.has_perm(EXPORT_AUDIT),
            "since": window.get("since", ""),
            "until": window.get("until", ""),
            "window": window.urlencode(),
        }
        return TemplateResponse(request, "admin/media_sync/auditevent/timeline.html", context)

    def timeline_export_view(self, request: HttpRequest, kind: str, key: str) -> HttpResponseBase:
        """The timeline's rows as the audit CSV: the same columns, that record only."""
        if not request.user.has_perm(EXPORT_AUDIT):
            raise PermissionDenied
        events = self._timeline(request, kind, key)
        if bad := _bad_dates(request):
            for reason in bad:
                messages.warning(request, f"{reason}. Nothing was exported.")
            return HttpResponseRedirect(reverse("admin:media_sync_auditevent_timeline", args=[kind, key]))
        response = StreamingHttpResponse(
            audit_csv_lines(events, bom="bom" in request.GET), content_type="text/csv; charset=utf-8"
        )
        name = re.sub(r"[^\w-]", "_", f"{kind}-{key}")
        response["Content-Disposition"] = f'attachment; filename="timeline-{name}.csv"'
        return response
