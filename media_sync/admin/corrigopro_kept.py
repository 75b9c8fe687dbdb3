"""Our copy of a CorrigoPro attachment in the admin: the "our copy" column and its download view."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.html import format_html

from media_sync.admin.base import record_refusal
from media_sync.models import CorrigoAttachment, Operation, Provider
from media_sync.services.corrigopro_keep import KeptCopyUnreadable, cp_kept_open
from media_sync.services.refusals import InputRefused


def our_copy(attachment: CorrigoAttachment) -> str:
    """kept (with its download link) / failed (with the reason) / not yet / off."""
    if attachment.kept_file_id:
        url = reverse("admin:media_sync_corrigoattachment_our_copy", args=[attachment.pk])
        when = f"kept {attachment.kept_at:%Y-%m-%d %H:%M}" if attachment.kept_at else "kept"
        return format_html('<span title="{}">kept</span> · <a href="{}">download</a>', when, url)
    if attachment.keep_error:
        return format_html(
            '<span title="{}">failed: {}</span>', attachment.keep_error, attachment.keep_error[:80]
        )
    return "not yet" if settings.CORRIGOPRO_KEEP_FILES else "off"


def our_copy_response(request: HttpRequest, attachment: CorrigoAttachment) -> HttpResponseBase:
    """Our copy, streamed from media storage as a download; each one is in the audit. The caller has
    checked the visitor may view the attachment."""
    try:
        copy = cp_kept_open(
            attachment=attachment, triggered_by=request.user.get_username(), path=request.path
        )
    except InputRefused as refusal:
        record_refusal(
            request,
            str(refusal),
            provider=Provider.CORRIGOPRO,
            operation=Operation.CP_KEPT_DOWNLOAD,
            subject=f"work order {attachment.work_order.work_order_id}",
            item=attachment.attachment_id,
        )
        messages.error(request, f"No download: {refusal}")
        return HttpResponseRedirect(reverse("admin:media_sync_corrigoattachment_changelist"))
    except KeptCopyUnreadable as failure:
        messages.error(request, f"No download: {failure}")
        return HttpResponseRedirect(reverse("admin:media_sync_corrigoattachment_changelist"))
    response = FileResponse(
        copy.fileobj, as_attachment=True, filename=copy.filename, content_type=copy.mime_type
    )
    response["Content-Length"] = str(copy.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
