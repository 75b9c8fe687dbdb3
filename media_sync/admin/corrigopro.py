from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from integrations.corrigopro.rules import DOCUMENT_TYPES
from media_sync.admin.base import (
    ConfirmForm,
    ForgivingListMixin,
    ReadOnlyAdminMixin,
    RunJobsPermissionMixin,
    TimelineLinkMixin,
    UploadToolMixin,
    job_url,
    posted,
    record_refusal,
    start_or_show,
)
from media_sync.admin.corrigopro_attachments import AttachmentColumns, AttachmentInline, links_for
from media_sync.admin.corrigopro_kept import our_copy_response
from media_sync.admin.filters import ChoicesFilter
from media_sync.admin.forms import MetadataForm, UploadForm
from media_sync.admin.pictures import PictureViewsMixin
from media_sync.models import (
    CorrigoAttachment,
    CorrigoWorkOrder,
    Operation,
    Provider,
    TransferJob,
    WebhookDelivery,
)
from media_sync.services.corrigopro import (
    cp_delete_start,
    cp_sync_start,
    cp_update_start,
    cp_upload_start,
)
from media_sync.services.corrigopro_download import DownloadFailed, cp_download
from media_sync.services.refusals import InputRefused


@admin.register(CorrigoWorkOrder)
class CorrigoWorkOrderAdmin(ForgivingListMixin, TimelineLinkMixin, UploadToolMixin, admin.ModelAdmin):
    timeline_kind, timeline_key = "workorder", "work_order_id"
    upload_tool = ("media_sync_corrigoworkorder_upload", "Upload an attachment")
    list_display = ["work_order_id", "status", "attachment_count", "attachments_synced_at", "upload_link"]
    list_filter = ["status"]
    search_fields = ["=work_order_id", "description"]
    search_help_text = "Work order id (exact) or words of the description."
    fields = ["work_order_id", "status", "description", "attachments_synced_at"]
    readonly_fields = ["attachments_synced_at"]
    inlines = [AttachmentInline]
    actions = ["refresh_attachments"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[CorrigoWorkOrder]:
        queryset: QuerySet[CorrigoWorkOrder] = super().get_queryset(request)
        return queryset.annotate(
            attachment_count=Count("attachments", filter=Q(attachments__removed_at__isnull=True))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The id is chosen once; the status may be corrected by hand when CorrigoPro says otherwise.
        return ["work_order_id", *self.readonly_fields] if obj else self.readonly_fields

    @admin.display(description="attachments", ordering="attachment_count")
    def attachment_count(self, work_order: CorrigoWorkOrder) -> int:
        return int(work_order.attachment_count)  # type: ignore[attr-defined]

    def get_list_display(self, request: HttpRequest) -> Any:
        # The upload link only for whoever may upload: a team lead would meet a 403 behind it.
        shown = super().get_list_display(request)
        return shown if self.has_run_jobs_permission(request) else [f for f in shown if f != "upload_link"]

    @admin.display(description="")
    def upload_link(self, work_order: CorrigoWorkOrder) -> str:
        url = reverse("admin:media_sync_corrigoworkorder_upload", args=[work_order.pk])
        return format_html('<a href="{}">Upload an attachment</a>', url)

    @admin.action(description="Refresh attachments from CorrigoPro", permissions=["run_jobs"])
    def refresh_attachments(self, request: HttpRequest, queryset: QuerySet[CorrigoWorkOrder]) -> HttpResponse:
        ids = list(queryset.values_list("work_order_id", flat=True))
        job = cp_sync_start(work_order_ids=ids, triggered_by=request.user.get_username())
        self.message_user(request, f"Job {job.pk} started: refreshing {len(ids)} work order(s).")
        return HttpResponseRedirect(job_url(job))

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "<path:object_id>/upload/",
            self.admin_site.admin_view(self.upload_view),
            name="media_sync_corrigoworkorder_upload",
        )
        return [upload, *super().get_urls()]

    def upload_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        work_order = self.get_object(request, unquote(object_id))
        if work_order is None:
            raise Http404("No such work order.")
        if not self.has_run_jobs_permission(request):
            raise PermissionDenied
        form = UploadForm(**posted(request))

        def start(data: dict[str, Any]) -> TransferJob:
            return cp_upload_start(
                work_order=work_order,
                source=data["file"],
                name=data["name"] or data["file"].name,
                mime_type=data["file"].content_type or "",
                document_type=data["document_type"],
                visibility=data["visibility"],
                performed_by=data["performed_by"],
                performed_by_phone=data["performed_by_phone"],
                triggered_by=request.user.get_username(),
                again=data["upload_anyway"],
            )

        return start_or_show(
            self,
            request,
            work_order,
            form,
            start,
            provider=Provider.CORRIGOPRO,
            operation=Operation.CP_UPLOAD,
            subject=f"work order {work_order.work_order_id}",
            item=request.POST.get("name") or str(getattr(request.FILES.get("file"), "name", "")),
            title=f"Upload an attachment to work order {work_order.work_order_id}",
            submit_label="Upload",
        )


class DocumentTypeFilter(ChoicesFilter):
    """CorrigoPro's document types, a fixed list: no empty-named choice for attachments without one."""

    title = "document type"
    parameter_name = "document_type__exact"
    choices_source = DOCUMENT_TYPES


class AddedByFilter(ChoicesFilter):
    """Who added an attachment, when known: no empty-named choice for the unknown."""

    title = "added by"
    parameter_name = "added_by__exact"
    choices_source = ("us", "customer")


@admin.register(CorrigoAttachment)
class CorrigoAttachmentAdmin(
    AttachmentColumns,
    ForgivingListMixin,
    PictureViewsMixin,
    TimelineLinkMixin,
    RunJobsPermissionMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    timeline_kind, timeline_key = "attachment", "attachment_id"
    list_display = [
        "picture",
        "name",
        "work_order",
        "size",
        "document_type",
        "visibility",
        "added_by",
        "removed_at",
        "our_copy",
        "links",
    ]
    list_filter = [AddedByFilter, DocumentTypeFilter, ("removed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["work_order"]
    search_fields = ["=attachment_id", "=work_order__work_order_id", "name"]
    search_help_text = "Attachment id or work order id (exact), or file name."
    list_per_page = 100
    list_display_links = ["name"]

    def get_list_display(self, request: HttpRequest) -> Any:
        return links_for(request, super().get_list_display(request))

    def get_urls(self) -> list[URLPattern]:
        views = {
            "our_copy": self.our_copy_view,
            "download": self.download_view,
            "edit": self.edit_view,
            "delete_at_provider": self.delete_view_at_provider,
        }
        urls = [
            path(
                f"<path:object_id>/{name.replace('_', '-')}/",
                self.admin_site.admin_view(view),
                name=f"media_sync_corrigoattachment_{name}",
            )
            for name, view in views.items()
        ]
        return [*urls, *super().get_urls()]

    def _attachment(self, request: HttpRequest, object_id: str, *, run: bool) -> CorrigoAttachment:
        attachment: CorrigoAttachment | None = self.get_object(request, unquote(object_id))
        if attachment is None:
            raise Http404("No such attachment.")
        allowed = (
            self.has_run_jobs_permission(request) if run else self.has_view_permission(request, attachment)
        )
        if not allowed:
            raise PermissionDenied
        return attachment

    def our_copy_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """Our kept copy, for whoever may view the attachment, also after the customer removed it."""
        return our_copy_response(request, self._attachment(request, object_id, run=False))

    def download_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """A fresh link each time, never stored; the file streams through to the browser."""
        attachment = self._attachment(request, object_id, run=False)
        user = request.user.get_username()
        try:
            download = cp_download(attachment=attachment, triggered_by=user)
        except (DownloadFailed, InputRefused) as failure:
            if isinstance(failure, InputRefused):
                record_refusal(
                    request,
                    str(failure),
                    provider=Provider.CORRIGOPRO,
                    operation=Operation.CP_DOWNLOAD,
                    subject=f"work order {attachment.work_order.work_order_id}",
                    item=attachment.name or attachment.attachment_id,
                )
            self.message_user(request, f"Download failed: {failure}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:media_sync_corrigoattachment_changelist"))
        response = StreamingHttpResponse(download.chunks, content_type=download.mime_type)
        # The name is the customer's: quoted and encoded properly, whatever it holds.
        response["Content-Disposition"] = content_disposition_header(True, download.filename) or "attachment"
        if download.size is not None:
            response["Content-Length"] = str(download.size)
        return response

    def edit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        attachment = self._attachment(request, object_id, run=True)
        initial = {
            "name": attachment.name,
            "document_type": attachment.document_type,
            "visibility": attachment.visibility,
        }
        form = MetadataForm(**posted(request), initial=initial)

        def start(data: dict[str, Any]) -> TransferJob:
            return cp_update_start(attachment=attachment, triggered_by=request.user.get_username(), **data)

        return start_or_show(
            self,
            request,
            attachment,
            form,
            start,
            provider=Provider.CORRIGOPRO,
            operation=Operation.CP_UPDATE,
            subject=f"work order {attachment.work_order.work_order_id}",
            item=attachment.name or attachment.attachment_id,
            title=f"Change {attachment.name}",
            submit_label="Save at CorrigoPro",
        )

    def delete_view_at_provider(self, request: HttpRequest, object_id: str) -> HttpResponse:
        attachment = self._attachment(request, object_id, run=True)

        def start(data: dict[str, Any]) -> TransferJob:
            return cp_delete_start(attachment=attachment, triggered_by=request.user.get_username())

        return start_or_show(
            self,
            request,
            attachment,
            ConfirmForm(**posted(request)),
            start,
            provider=Provider.CORRIGOPRO,
            operation=Operation.CP_DELETE,
            subject=f"work order {attachment.work_order.work_order_id}",
            item=attachment.name or attachment.attachment_id,
            title=f"Delete {attachment.name} from CorrigoPro",
            submit_label="Yes, delete it",
            warning=f"This removes {attachment.name} from {attachment.work_order} at CorrigoPro. "
            "It cannot be undone.",
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ForgivingListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "provider",
        "event_type",
        "work_order_id",
        "status",
        "deliveries",
        "message_id",
    ]
    list_filter = ["provider", "event_type", "status"]
    search_fields = ["=message_id", "=work_order_id"]
    readonly_fields = fields = (
        "received_at",
        "provider",
        "event_type",
        "message_id",
        "work_order_id",
        "status",
        "deliveries",
        "processed_at",
        "error",
        "pretty_body",
    )
    date_hierarchy = "received_at"

    @admin.display(description="body")
    def pretty_body(self, delivery: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(delivery.body, indent=2, sort_keys=True))
