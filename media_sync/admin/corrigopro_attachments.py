"""What the admin shows of each CorrigoPro attachment beside its mirror fields: its links (download, change,
delete) as the visitor may use them, and the work order page's inline of them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join

from media_sync.admin.base import RUN_JOBS, ReadOnlyAdminMixin
from media_sync.admin.corrigopro_kept import our_copy
from media_sync.admin.pictures import picture
from media_sync.models import CorrigoAttachment


class AttachmentColumns:
    """The columns the attachment list and the work order's inline both show: the picture, our copy, and
    the links (`links` for whoever may run jobs, `links_read` for the others: see `links_for`)."""

    @admin.display(description="picture")
    def picture(self, attachment: CorrigoAttachment) -> str:
        return picture(attachment)

    @admin.display(description="our copy")
    def our_copy(self, attachment: CorrigoAttachment) -> str:
        return our_copy(attachment)

    @admin.display(description="")
    def links(self, attachment: CorrigoAttachment) -> str:
        return attachment_links(attachment, can_run=True)

    @admin.display(description="")
    def links_read(self, attachment: CorrigoAttachment) -> str:
        return attachment_links(attachment, can_run=False)


class AttachmentInline(AttachmentColumns, ReadOnlyAdminMixin, admin.TabularInline):
    model = CorrigoAttachment
    fields = (
        "picture",
        "name",
        "mime_type",
        "size",
        "document_type",
        "added_by",
        "state",
        "our_copy",
        "links",
    )
    readonly_fields = (*fields, "links_read")
    extra = 0

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return links_for(request, super().get_fields(request, obj))

    @admin.display(description="state")
    def state(self, attachment: CorrigoAttachment) -> str:
        return f"removed {attachment.removed_at:%Y-%m-%d %H:%M}" if attachment.removed_at else "present"


def links_for(request: HttpRequest, fields: Any) -> list[str]:
    """The attachment's links column as this visitor may use it: Edit and Delete only for whoever may run
    them (a team lead would meet a 403 behind them)."""
    if request.user.has_perm(RUN_JOBS):
        return list(fields)
    return ["links_read" if field == "links" else field for field in fields]


def attachment_links(attachment: CorrigoAttachment, *, can_run: bool) -> str:
    """Download (from CorrigoPro, when we keep no copy: our copy's own link serves it then), Edit, Delete."""
    if attachment.removed_at:
        return ""
    names = [] if attachment.kept_file_id else [("download", "Download")]
    if can_run:
        names += [("edit", "Edit"), ("delete_at_provider", "Delete")]
    return format_html_join(
        " · ",
        '<a href="{}">{}</a>',
        (
            (reverse(f"admin:media_sync_corrigoattachment_{view}", args=[attachment.pk]), label)
            for view, label in names
        ),
    )
