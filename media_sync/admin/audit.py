from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from media_sync.admin.base import ReadOnlyAdminMixin
from media_sync.models import AuditEvent
from media_sync.reports import audit_csv_lines

EXPORT_AUDIT = "media_sync.export_auditevent"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only for everyone, superusers included; the database refuses changes as well."""

    list_display = [
        "when",
        "provider",
        "operation",
        "job_link",
        "item",
        "destination",
        "outcome",
        "provider_status",
        "http_status",
        "short_message",
        "triggered_by",
    ]
    list_filter = ["provider", "outcome", "kind", "operation", "failure_class", "timestamp"]
    search_fields = ["=item", "=destination", "=reference", "subject", "=triggered_by"]
    search_help_text = (
        "Photo, order, attachment or batch id, provider reference (exact), or words of the subject."
    )
    list_select_related = ["job"]
    date_hierarchy = "timestamp"
    show_full_result_count = False
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

    @admin.display(description="message")
    def short_message(self, event: AuditEvent) -> str:
        return event.message if len(event.message) <= 120 else event.message[:119] + "…"

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export/", self.admin_site.admin_view(self.export_view), name="media_sync_auditevent_export"
        )
        return [export, *super().get_urls()]

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
