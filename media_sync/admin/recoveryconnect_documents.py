"""RecoveryConnect documents in the admin: the documents list, the inline on the order page, and the order
actions that refresh and transfer them."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from media_sync.admin.base import (
    ForgivingListMixin,
    ReadOnlyAdminMixin,
    RunJobsPermissionMixin,
    TimelineLinkMixin,
    intermediate_action,
    job_url,
)
from media_sync.admin.forms import DestinationsForm
from media_sync.models import Operation, Provider, RecoveryConnectDocument, RecoveryConnectOrder
from media_sync.services.recoveryconnect_documents import (
    rc_documents_refresh_start,
    rc_transfer_documents_start,
)


class DocumentDestinationsForm(DestinationsForm):
    again = forms.BooleanField(
        label="Send again",
        required=False,
        help_text="RecoveryConnect's transfer moves every document of the order; none can be left out. "
        "Unticked, an order every document already reached is left out, and one that holds only some of "
        "them is refused. Ticked, every document goes to every order given, again.",
    )


class DocumentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RecoveryConnectDocument
    readonly_fields = fields = ("document_id", "name", "uploaded_by", "uploaded_at", "synced_at")
    extra = 0
    show_change_link = False
    verbose_name_plural = "documents (names and uploaders only: download links are never kept)"


class OrderDocumentsMixin(admin.ModelAdmin):
    """The order admin's document actions; its `inlines` and `actions` name them."""

    @admin.action(description="Refresh documents from RecoveryConnect", permissions=["run_jobs"])
    def refresh_documents(
        self, request: HttpRequest, queryset: QuerySet[RecoveryConnectOrder]
    ) -> HttpResponse:
        job = rc_documents_refresh_start(
            order_ids=list(queryset.values_list("order_id", flat=True)),
            triggered_by=request.user.get_username(),
        )
        self.message_user(
            request, f"Job {job.pk} started: refreshing the documents of {queryset.count()} order(s)."
        )
        return HttpResponseRedirect(job_url(job))

    @admin.action(description="Transfer documents of the selected order to…", permissions=["run_jobs"])
    def transfer_documents(
        self, request: HttpRequest, queryset: QuerySet[RecoveryConnectOrder]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one order to transfer its documents.", messages.ERROR)
            return None
        order = queryset.get()
        return intermediate_action(
            self,
            request,
            queryset,
            form_class=DocumentDestinationsForm,
            title=f"Transfer the documents of order {order.order_id}",
            action="transfer_documents",
            submit_label="Transfer documents",
            provider=Provider.RECOVERYCONNECT,
            operation=Operation.RC_TRANSFER_DOCUMENTS,
            subject=f"order {order.order_id}",
            item="all documents",
            extra_context={"documents": order.documents.all()[:50]},
            start=lambda data: rc_transfer_documents_start(
                order=order,
                destinations=data["destinations"],
                again=data["again"],
                triggered_by=request.user.get_username(),
            ),
        )


@admin.register(RecoveryConnectDocument)
class RecoveryConnectDocumentAdmin(
    ForgivingListMixin, TimelineLinkMixin, RunJobsPermissionMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    timeline_kind, timeline_key = "document", "document_id"
    list_display = ["document_id", "name", "uploaded_by", "uploaded_at", "order", "synced_at"]
    list_display_links = ["document_id"]
    list_select_related = ["order"]
    search_fields = ["=document_id", "=order__order_id", "=order__client_order_id", "name", "uploaded_by"]
    search_help_text = "Document id, internal or client order id (exact), file name or who uploaded it."
    list_per_page = 100

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The order page may link here with ?order__order_id=<id> to list that order's documents.
        return lookup == "order__order_id" or super().lookup_allowed(lookup, value, request)
