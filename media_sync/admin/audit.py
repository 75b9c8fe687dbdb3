"""The audit list, its CSV export, the summary CSV and the dashboard. A record's timeline is in
admin/timeline.py; what the audit pages share (dates, paging, the export permission) in
admin/audit_query.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import (
    HttpRequest,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from media_sync.admin import display
from media_sync.admin.audit_query import (
    DATES,
    EXPORT_AUDIT,
    NUMBER,
    AuditChangeList,
    EstimatedCountPaginator,
    bad_dates,
    date_range,
    page_number,
    search_matches,
    without,
)
from media_sync.admin.base import ReadOnlyAdminMixin
from media_sync.admin.filters import (
    ChoicesFilter,
    DateRangeFilter,
    ErrorCodeFilter,
    ExchangeFilter,
    FailureClassFilter,
    OperationFilter,
    UserFilter,
)
from media_sync.admin.timeline import TimelineViewsMixin
from media_sync.models import AuditEvent, Provider
from media_sync.reports import audit_csv_lines, summary_csv_lines
from media_sync.selectors import audit_filter, item_counts
from media_sync.selectors_dashboard import (
    dashboard_charts,
    dashboard_reads,
    dashboard_top_failures,
    jobs_open,
)
from media_sync.services.manifests import export_signed, zip_stream

SUBJECT_LISTS = {"order": "recoveryconnectorder", "work order": "corrigoworkorder", "property": "suproperty"}
# The changelist's own parameters (page, order, search, its error flag, show all, facets).
CHANGELIST_PARAMS = ("p", "o", "q", "e", "all", "_facets")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, TimelineViewsMixin):
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
        ExchangeFilter,
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
    # The answer row shows the request row written before it was sent: one join, no query a row.
    list_select_related = ["job", "request"]
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
        "request_link",
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
        return search_matches(queryset, match), False

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
        text = display.truncated(event.message) if event.message else ""
        if event.request is None:
            return text
        return format_html("{} {}", text, self.request_link(event))

    @admin.display(description="request row")
    def request_link(self, event: AuditEvent) -> str:
        """An answer's request, written before it was sent (or the request a hand-back found unanswered)."""
        if event.request is None:
            return "—"
        sent = timezone.localtime(event.request.timestamp)
        url = reverse("admin:media_sync_auditevent_change", args=[event.request.pk])
        return format_html(
            '<a href="{}" class="nowrap" title="Written before it was sent">request #{} at {}</a>',
            url,
            event.request.pk,
            f"{sent:%H:%M:%S}",
        )

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
        return [export, dashboard, summary, *self.timeline_urls(), *super().get_urls()]

    def summary_view(self, request: HttpRequest) -> HttpResponseBase:
        """Counts per day x provider x operation x outcome for a date range, as CSV."""
        if not (self.has_view_permission(request) and request.user.has_perm(EXPORT_AUDIT)):
            raise PermissionDenied
        if bad := bad_dates(request):
            for reason in bad:
                messages.warning(request, f"{reason}: nothing was exported.")
            return HttpResponseRedirect(reverse("admin:media_sync_dashboard"))
        since, until = date_range(request)
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
        for reason in bad_dates(request):
            messages.warning(request, f"{reason}; the last two weeks are shown instead.")
        since, until = date_range(request)
        with dashboard_reads():
            charts = dashboard_charts(since=since, until=until)
            top_failures = dashboard_top_failures(since=since, until=until)
        audit = reverse("admin:media_sync_auditevent_changelist")
        window = f"since={since.isoformat()}&until={until.isoformat()}"
        failures = [
            {
                **row,
                # In the words the audit list's filters use.
                "provider_label": Provider(row["provider"]).label
                if row["provider"] in Provider.values
                else "—",
                "class_label": str(row["failure_class"]).replace("_", " "),
                "url": f"{audit}?outcome__exact=failed&provider__exact={row['provider']}"
                f"&failure_class__exact={row['failure_class']}&{window}",
            }
            for row in top_failures
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
            elif name == "p" and page_number(value) is None:
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
        bad.update({reason.split(": ")[1].split("=")[0]: reason for reason in bad_dates(request)})
        return bad

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """A parameter the list cannot use is left out and named in a message; the rest still apply."""
        if bad := self.bad_params(request):
            for reason in bad.values():
                messages.warning(request, f"{reason}. The list is shown without it.")
            request.GET = without(request.GET, set(bad))  # type: ignore[assignment]
        extra_context = {**(extra_context or {}), "can_export": request.user.has_perm(EXPORT_AUDIT)}
        return super().changelist_view(request, extra_context)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """Exactly the rows of the list's current filters and search, streamed. A parameter the list
        cannot use exports nothing: the list opens without it, saying why."""
        if not (self.has_view_permission(request) and request.user.has_perm(EXPORT_AUDIT)):
            raise PermissionDenied
        params = request.GET.copy()
        bom = params.pop("bom", None) is not None
        signed = params.pop("manifest", None) is not None
        request.GET = params  # type: ignore[assignment]  # the list's own filters, less ours
        if bad := self.bad_params(request):
            for reason in bad.values():
                messages.warning(request, f"{reason}. Nothing was exported.")
            kept = without(params, set(bad)).urlencode()
            return HttpResponseRedirect(
                reverse("admin:media_sync_auditevent_changelist") + f"?{kept}" * bool(kept)
            )
        request.GET = without(params, {"p"})  # type: ignore[assignment]  # every page, not one
        changelist = self.get_changelist_instance(request)
        events = changelist.get_queryset(request)
        filename = f"audit-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
        if signed:
            return export_zip_response(
                events, filename=filename, bom=bom, filters={k: str(v) for k, v in request.GET.items()}
            )
        response = StreamingHttpResponse(
            audit_csv_lines(events, bom=bom), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


def export_zip_response(
    events: QuerySet[AuditEvent], *, filename: str, bom: bool, filters: dict[str, str]
) -> StreamingHttpResponse:
    """The CSV and its signed manifest in one zip, streamed: the manifest follows the last row."""
    pieces, manifest = export_signed(events, csv_name=filename, bom=bom, filters=filters)
    body = zip_stream(csv_name=filename, pieces=pieces, manifest=manifest)
    response = StreamingHttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename.removesuffix(".csv")}.zip"'
    return response
