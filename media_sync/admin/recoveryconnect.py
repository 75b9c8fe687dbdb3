from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from media_sync.admin.base import (
    ForgivingListMixin,
    HistoryRow,
    ReadOnlyAdminMixin,
    RunJobsPermissionMixin,
    TimelineLinkMixin,
    UploadToolMixin,
    intermediate_action,
    job_url,
)
from media_sync.admin.forms import DestinationsForm
from media_sync.admin.pictures import PictureViewsMixin, picture
from media_sync.admin.recoveryconnect_documents import DocumentInline, OrderDocumentsMixin
from media_sync.admin.recoveryconnect_upload import URL_NAME as UPLOAD_URL_NAME
from media_sync.admin.recoveryconnect_upload import RecoveryInline, upload_view
from media_sync.models import Operation, Provider, RecoveryConnectOrder, RecoveryConnectPhoto
from media_sync.selectors import rc_transfers_done
from media_sync.services.audit import audit_name_items
from media_sync.services.recoveryconnect import (
    rc_refresh_start,
    rc_transfer_all_start,
    rc_transfer_photos_start,
)

HISTORY_TEXTS = {
    "preflight_label": "already transferred",
    "preflight_ok": "not transferred to these orders yet",
    "preflight_help": "Photos already transferred to one of these orders start unticked. A ticked photo "
    "goes to every order given above, again to those it reached before; an unticked one is not sent.",
}


def transfer_history(photos: list[RecoveryConnectPhoto], destinations: list[int]) -> list[HistoryRow]:
    """Each photo, flagged with every one of these destinations our history says it already reached."""
    done = rc_transfers_done(photo_ids=[photo.photo_id for photo in photos], destinations=destinations)
    return [
        HistoryRow(
            photo=photo,
            warnings=[
                f"to {dest} {done[photo.photo_id, dest]}"
                for dest in destinations
                if (photo.photo_id, dest) in done
            ],
            texts=HISTORY_TEXTS,
            thumbnail=picture(photo),
        )
        for photo in photos
    ]


def left_out(
    request: HttpRequest, photos: list[RecoveryConnectPhoto], destinations: list[int]
) -> set[tuple[int, int]]:
    """The pairs of the photos left unticked on the pre-flight table (none when it was not shown)."""
    if "confirm" not in request.POST:
        return set()
    ticked = set(request.POST.getlist("include"))
    return {
        (photo.photo_id, dest) for photo in photos if str(photo.pk) not in ticked for dest in destinations
    }


class PhotoInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RecoveryConnectPhoto
    readonly_fields = fields = (
        "picture",
        "photo_id",
        "name",
        "type_name",
        "recovery",
        "personal_property",
        "synced_at",
    )
    extra = 0
    show_change_link = False

    @admin.display(description="personal property")
    def personal_property(self, photo: RecoveryConnectPhoto) -> str:
        # Known only for photos we uploaded as personal property: a column of red crosses would say "no"
        # for every other photo, which nobody knows.
        return "yes" if photo.personal else ""

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecoveryConnectPhoto]:
        queryset: QuerySet[RecoveryConnectPhoto] = super().get_queryset(request)
        return queryset.select_related("recovery")

    @admin.display(description="picture")
    def picture(self, photo: RecoveryConnectPhoto) -> str:
        return picture(photo)


@admin.register(RecoveryConnectOrder)
class RecoveryConnectOrderAdmin(
    ForgivingListMixin, TimelineLinkMixin, UploadToolMixin, OrderDocumentsMixin, admin.ModelAdmin
):
    timeline_kind, timeline_key = "order", "order_id"
    upload_tool = (UPLOAD_URL_NAME, "Upload photos…")
    list_display = [
        "order_id",
        "client_order_id",
        "description",
        "photo_count",
        "photos_link",
        "photos_synced_at",
    ]
    search_fields = ["=order_id", "=client_order_id", "description"]
    search_help_text = "Internal order id or client order id (exact), or words of the description."
    fields = ["order_id", "client_order_id", "description", "photos_synced_at", "documents_synced_at"]
    readonly_fields = ["photos_synced_at", "documents_synced_at"]
    inlines = [RecoveryInline, PhotoInline, DocumentInline]
    actions = ["transfer_all_photos", "refresh_photos", "transfer_documents", "refresh_documents"]
    list_per_page = 50

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "<path:object_id>/upload/",
            self.admin_site.admin_view(lambda request, object_id: upload_view(self, request, object_id)),
            name=UPLOAD_URL_NAME,
        )
        return [upload, *super().get_urls()]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecoveryConnectOrder]:
        queryset: QuerySet[RecoveryConnectOrder] = super().get_queryset(request)
        return queryset.annotate(photo_count=Count("photos"))

    @admin.display(description="photos", ordering="photo_count")
    def photo_count(self, order: RecoveryConnectOrder) -> int:
        return int(order.photo_count)  # type: ignore[attr-defined]

    @admin.display(description="")
    def photos_link(self, order: RecoveryConnectOrder) -> str:
        url = (
            reverse("admin:media_sync_recoveryconnectphoto_changelist") + f"?order__order_id={order.order_id}"
        )
        return format_html('<a href="{}">Choose photos to transfer</a>', url)

    @admin.action(description="Transfer all photos of the selected order to…", permissions=["run_jobs"])
    def transfer_all_photos(
        self, request: HttpRequest, queryset: QuerySet[RecoveryConnectOrder]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(
                request, "Select exactly one order to transfer all of its photos.", messages.ERROR
            )
            return None
        order = queryset.get()
        photos = list(order.photos.select_related("order"))
        return intermediate_action(
            self,
            request,
            queryset,
            form_class=DestinationsForm,
            title=f"Transfer all photos of order {order.order_id}",
            action="transfer_all_photos",
            submit_label="Transfer all photos",
            provider=Provider.RECOVERYCONNECT,
            operation=Operation.RC_TRANSFER_ALL,
            subject=f"order {order.order_id}",
            item="all photos",
            history=lambda data: transfer_history(photos, data["destinations"]),
            extra_context={"pictures": order.photos.all()[:50]},
            start=lambda data: rc_transfer_all_start(
                order=order,
                destinations=data["destinations"],
                triggered_by=request.user.get_username(),
                leave_out=left_out(request, photos, data["destinations"]),
            ),
        )

    @admin.action(description="Refresh photos from RecoveryConnect", permissions=["run_jobs"])
    def refresh_photos(self, request: HttpRequest, queryset: QuerySet[RecoveryConnectOrder]) -> HttpResponse:
        job = rc_refresh_start(
            order_ids=list(queryset.values_list("order_id", flat=True)),
            triggered_by=request.user.get_username(),
        )
        self.message_user(request, f"Job {job.pk} started: refreshing {queryset.count()} order(s).")
        return HttpResponseRedirect(job_url(job))


@admin.register(RecoveryConnectPhoto)
class RecoveryConnectPhotoAdmin(
    ForgivingListMixin,
    PictureViewsMixin,
    TimelineLinkMixin,
    RunJobsPermissionMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    timeline_kind, timeline_key = "photo", "photo_id"
    list_display = ["picture", "photo_id", "name", "type_name", "order", "synced_at"]
    list_display_links = ["photo_id"]
    list_select_related = ["order"]
    search_fields = ["=photo_id", "=order__order_id", "=order__client_order_id", "name"]
    search_help_text = "Photo id, internal or client order id (exact), or file name."
    actions = ["transfer_photos"]
    list_per_page = 100

    @admin.display(description="picture")
    def picture(self, photo: RecoveryConnectPhoto) -> str:
        return picture(photo)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The order page links here with ?order__order_id=<id> to list that order's photos.
        return lookup == "order__order_id" or super().lookup_allowed(lookup, value, request)

    @admin.action(description="Transfer selected photos to orders…", permissions=["run_jobs"])
    def transfer_photos(
        self, request: HttpRequest, queryset: QuerySet[RecoveryConnectPhoto]
    ) -> HttpResponse | None:
        photos = list(queryset.select_related("order"))
        return intermediate_action(
            self,
            request,
            queryset,
            form_class=DestinationsForm,
            title=f"Transfer {len(photos)} photo(s) to other orders",
            action="transfer_photos",
            submit_label="Transfer photos",
            provider=Provider.RECOVERYCONNECT,
            operation=Operation.RC_TRANSFER_PHOTOS,
            subject=audit_name_items(sorted({f"order {p.order.order_id}" for p in photos}), "orders"),
            item=audit_name_items([str(photo.photo_id) for photo in photos], "photos"),
            history=lambda data: transfer_history(photos, data["destinations"]),
            start=lambda data: rc_transfer_photos_start(
                photos=photos,
                destinations=data["destinations"],
                triggered_by=request.user.get_username(),
                leave_out=left_out(request, photos, data["destinations"]),
            ),
        )
