"""An audit timeline: every audit row about one record, as a page and as CSV."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from media_sync.admin import display
from media_sync.admin.audit_query import DATES, EXPORT_AUDIT, EstimatedCountPaginator, bad_dates, page_number
from media_sync.admin.filters import parse_day
from media_sync.models import AuditEvent, AuditKind
from media_sync.reports import audit_csv_lines
from media_sync.selectors import audit_filter, audit_timeline, timeline_about
from media_sync.selectors_triage import triage_timeline

# A timeline shows at most this many triage events about the record, newest first, above its audit rows.
TRIAGE_SHOWN = 50


class TimelineViewsMixin(admin.ModelAdmin):
    """The audit admin's `timeline/<kind>/<key>/` page and its `export/`."""

    # The audit list's own cells, drawn the same in a timeline row.
    item_link: Callable[[AuditEvent], str]
    short_message: Callable[[AuditEvent], str]

    def timeline_urls(self) -> list[URLPattern]:
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
        return [timeline, timeline_export]

    def _about(self, request: HttpRequest, kind: str, key: str) -> list[dict[str, Any]]:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            if "\x00" in key or len(key) > 200:
                raise ValueError("not an id")
            return timeline_about(kind, key)
        except ValueError as error:
            raise Http404(str(error)) from error

    def _timeline(self, request: HttpRequest, kind: str, key: str, about: Any = None) -> QuerySet[AuditEvent]:
        events = audit_timeline(kind, key, about or self._about(request, kind, key))
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
        about = self._about(request, kind, key)
        events = self._timeline(request, kind, key, about)
        for reason in bad_dates(request):
            messages.warning(request, f"{reason}; the timeline is shown without it.")
        paginator = EstimatedCountPaginator(events, self.list_per_page)
        asked = request.GET.get("p", "1")
        number = page_number(asked)
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
            "triage": triage_timeline(about, limit=TRIAGE_SHOWN)
            if request.user.has_perm("media_sync.view_failuregroup")
            else [],
        }
        return TemplateResponse(request, "admin/media_sync/auditevent/timeline.html", context)

    def timeline_export_view(self, request: HttpRequest, kind: str, key: str) -> HttpResponseBase:
        """The timeline's rows as the audit CSV: the same columns, that record only."""
        if not request.user.has_perm(EXPORT_AUDIT):
            raise PermissionDenied
        events = self._timeline(request, kind, key)
        if bad := bad_dates(request):
            for reason in bad:
                messages.warning(request, f"{reason}. Nothing was exported.")
            return HttpResponseRedirect(reverse("admin:media_sync_auditevent_timeline", args=[kind, key]))
        response = StreamingHttpResponse(
            audit_csv_lines(events, bom="bom" in request.GET), content_type="text/csv; charset=utf-8"
        )
        name = re.sub(r"[^\w-]", "_", f"{kind}-{key}")
        response["Content-Disposition"] = f'attachment; filename="timeline-{name}.csv"'
        return response
