from __future__ import annotations

from collections import Counter
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from integrations.suapi.rules import MAX_BYTES, MAX_SIDE, MIN_SIDE, PhotoStatus
from media_sync.admin.base import (
    ConfirmForm,
    ForgivingListMixin,
    ReadOnlyAdminMixin,
    RunJobsPermissionMixin,
    admin_route,
    intermediate_action,
    job_url,
    posted,
    record_refusal,
    start_or_show,
)
from media_sync.admin.pictures import PictureViewsMixin, link_placeholder, picture
from media_sync.admin.progress import (
    BadSince,
    bad_since,
    cursor_now,
    find,
    local_time,
    percent,
    progress_json,
    since_param,
)
from media_sync.admin.suapi_forms import TagChoiceField
from media_sync.models import (
    BatchStatus,
    ItemStatus,
    Operation,
    Provider,
    SuBatch,
    SuBatchPhoto,
    SuPhoto,
    SuProperty,
)
from media_sync.selectors import ItemCounts, batches_with_item_counts, item_counts
from media_sync.services.audit import audit_name_items
from media_sync.services.refusals import InputRefused
from media_sync.services.suapi import MAIN_PHOTO_KEPT, su_batch_start, su_delete_start, su_is_main_photo
from media_sync.services.suapi_gallery import su_tags_ensure, tag_names
from media_sync.services.suapi_photos import DELETED, su_photo_add, su_photo_preview, su_preflight
from media_sync.services.suapi_polls import su_poll_now

STATUS_ORDER = [*PhotoStatus, DELETED]
BATCH_WORKING = (BatchStatus.SENDING, BatchStatus.POLLING)


def sent_status(sent: SuBatchPhoto) -> str:
    """Booking.com's word for a sent photo: its last polled status, else what the create call said."""
    return sent.status or sent.item.provider_status


def batch_counts_text(statuses: list[str]) -> str:
    """'2 ok, 1 duplicate, 1 not sent': Booking.com's words, in the order a photo goes through them."""
    counts = Counter(status or "not sent" for status in statuses)
    order = [*STATUS_ORDER, "not sent"]
    ranked = sorted(counts, key=lambda status: order.index(status) if status in order else len(order))
    return ", ".join(f"{counts[status]} {status}" for status in ranked) or "no photos"


class SendPhotosForm(forms.Form):
    tags = TagChoiceField(help_text="Booking.com's tags for every photo, by name.")
    include = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=True)

    def __init__(self, *args: Any, photos: list[SuPhoto], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        include = self.fields["include"]
        assert isinstance(include, forms.MultipleChoiceField)
        include.choices = [(str(photo.pk), str(photo)) for photo in photos]


class SuPhotoAddForm(forms.ModelForm):
    file = forms.FileField(
        help_text=f"JPEG or PNG, {MIN_SIDE}x{MIN_SIDE} to {MAX_SIDE}x{MAX_SIDE} pixels, "
        f"at most {MAX_BYTES // 1048576} MB."
    )

    class Meta:
        model = SuPhoto
        fields = ["property"]


@admin.register(SuPhoto)
class SuPhotoAdmin(ForgivingListMixin, PictureViewsMixin, RunJobsPermissionMixin, admin.ModelAdmin):
    list_display = ["picture", "__str__", "property", "image_format", "size", "created_at"]
    readonly_fields = ["picture"]
    list_display_links = ["__str__"]
    list_filter = ["property"]
    list_select_related = ["property", "media"]
    search_fields = ["=property__hotel_id", "media__original_name", "=media__sha256"]
    actions = ["send_to_booking"]
    list_per_page = 50

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def picture_ready(self, obj: SuPhoto, field: str) -> SuPhoto:
        # The thumbnail is made when the photo comes in; the larger picture when first opened.
        return su_photo_preview(obj) if field == "preview" else obj

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        return SuPhotoAddForm if obj is None else super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (
            ["property", "file"]
            if obj is None
            else ["picture", "property", "media", "image_format", "width", "height", "phash", "created_at"]
        )

    def save_model(self, request: HttpRequest, obj: SuPhoto, form: Any, change: bool) -> None:
        # The photo is measured and stored by the service; the form only chose the property and file.
        upload = form.cleaned_data["file"]
        saved = su_photo_add(
            property=obj.property, source=upload, name=upload.name, uploaded_by=request.user.get_username()
        )
        obj.pk, obj.media_id = saved.pk, saved.media_id

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        try:
            return super().add_view(request, form_url, extra_context)
        except InputRefused as refusal:
            chosen = request.POST.get("property", "")
            property = SuProperty.objects.filter(pk=int(chosen)).first() if chosen.isdigit() else None
            record_refusal(
                request,
                str(refusal),
                provider=Provider.SUAPI,
                operation=Operation.SU_PHOTO_ADD,
                subject=f"property {property.hotel_id}" if property else "",
                item=getattr(request.FILES.get("file"), "name", ""),
            )
            self.message_user(request, f"Photo refused: {refusal}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    @admin.display(description="picture")
    def picture(self, photo: SuPhoto) -> str:
        return picture(photo)

    @admin.display(description="size")
    def size(self, photo: SuPhoto) -> str:
        return f"{photo.width}x{photo.height}, {photo.media.size / 1048576:.1f} MB"

    @admin.action(description="Send selected photos to Booking.com…", permissions=["run_jobs"])
    def send_to_booking(self, request: HttpRequest, queryset: QuerySet[SuPhoto]) -> HttpResponse | None:
        photos = list(queryset.select_related("property", "media"))
        properties = {photo.property for photo in photos}
        if len(properties) != 1:
            self.message_user(request, "Select photos of one property.", messages.ERROR)
            return None
        (property,) = properties
        su_tags_ensure(triggered_by=request.user.get_username())  # the form offers the tags by name
        preflight = su_preflight(property=property, photos=photos)
        by_pk = {photo.pk: photo for photo in photos}

        clean = [str(row.photo.pk) for row in preflight if not row.warnings and not row.problems]
        ticked = set(request.POST.getlist("include")) if "apply" in request.POST else set(clean)

        class Form(SendPhotosForm):
            def __init__(self, data: Any = None) -> None:
                super().__init__(data, photos=photos)

        return intermediate_action(
            self,
            request,
            queryset.select_related("property", "media"),
            form_class=Form,
            title=f"Send {len(photos)} photo(s) to Booking.com for {property}",
            action="send_to_booking",
            submit_label="Send to Booking.com",
            provider=Provider.SUAPI,
            operation=Operation.SU_CREATE_BATCH,
            subject=f"property {property.hotel_id}",
            item=audit_name_items([photo.media.original_name for photo in photos], "photos"),
            extra_context={
                "preflight": [(row, picture(row.photo), str(row.photo.pk) in ticked) for row in preflight]
            },
            start=lambda data: su_batch_start(
                property=property,
                photos=[by_pk[int(pk)] for pk in data["include"]],
                tags=data["tags"],
                triggered_by=request.user.get_username(),
            ),
        )


def batch_announcement(batch: SuBatch, counts_text: str) -> str:
    """The sentence the batch page's live region reads out when it changes."""
    label = batch.get_status_display()
    return (
        f"{label}: {counts_text}."
        if batch.status in BATCH_WORKING
        else f"Batch ended: {label}. {counts_text}."
    )


def sent_picture(sent: SuBatchPhoto) -> str:
    """The photo's thumbnail, or for one sent by its URL a placeholder saying we hold no copy."""
    return picture(sent.photo) if sent.photo else link_placeholder(sent.url_path.rsplit("/", 1)[-1])


def photo_row(sent: SuBatchPhoto, context: dict[str, Any]) -> str:
    """One photo's row of the batch page, as the page itself draws it."""
    row = {**context, "sent": sent, "thumb": sent_picture(sent), "on_booking": sent.status == PhotoStatus.OK}
    return render_to_string("admin/media_sync/subatch/photo_row.html", row)


@admin.register(SuBatch)
class SuBatchAdmin(ForgivingListMixin, RunJobsPermissionMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "property", "status", "outcome_counts", "created_at", "next_poll_at"]
    list_filter = ["status", "property"]
    search_fields = ["=batch_id", "=property__hotel_id"]
    list_select_related = ["property"]

    @admin.display(description="photos")
    def outcome_counts(self, batch: SuBatch) -> str:
        answers = batch.photos.values_list("status", "item__provider_status")
        return batch_counts_text([polled or created for polled, created in answers])

    def get_urls(self) -> list[URLPattern]:
        urls = [
            path(
                "<path:object_id>/refresh/",
                self.admin_site.admin_view(self.refresh_view),
                name="media_sync_subatch_refresh",
            ),
            admin_route(self, "<path:object_id>/progress/", self.progress_view),
            path(
                "<path:object_id>/photos/<int:photo_pk>/delete-at-booking/",
                self.admin_site.admin_view(self.delete_photo_view),
                name="media_sync_subatch_delete_photo",
            ),
        ]
        return [*urls, *super().get_urls()]

    def _batch(self, request: HttpRequest, object_id: str, *, run: bool) -> SuBatch:
        batch: SuBatch | None = self.get_object(request, unquote(object_id))
        if batch is None:
            raise Http404("No such batch.")
        if not (self.has_run_jobs_permission(request) if run else self.has_view_permission(request, batch)):
            raise PermissionDenied
        return batch

    def refresh_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            raise PermissionDenied
        batch = self._batch(request, object_id, run=True)
        su_poll_now(batch=batch)
        self.message_user(request, "Asked Booking.com for the latest statuses.")
        return HttpResponseRedirect(reverse("admin:media_sync_subatch_change", args=[batch.pk]))

    def delete_photo_view(self, request: HttpRequest, object_id: str, photo_pk: int) -> HttpResponse:
        batch = self._batch(request, object_id, run=True)
        sent = batch.photos.filter(pk=photo_pk).first()
        if sent is None:
            raise Http404("No such photo in this batch.")
        return start_or_show(
            self,
            request,
            batch,
            ConfirmForm(**posted(request)),
            lambda data: su_delete_start(sent=sent, triggered_by=request.user.get_username()),
            operation=Operation.SU_DELETE,
            title=f"Delete photo {sent.booking_photo_id} from Booking.com",
            submit_label="Yes, delete it",
            warning=(
                "This " + MAIN_PHOTO_KEPT.format(photo_id=sent.booking_photo_id) + "."
                if su_is_main_photo(batch.property, sent.booking_photo_id)
                else f"This deletes photo {sent.booking_photo_id} from {batch.property} at Booking.com."
            ),
            provider=Provider.SUAPI,
            subject=f"property {batch.property.hotel_id}",
            item=sent.booking_photo_id,
        )

    def progress_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The batch page's live part as JSON: state, counts, and the photo rows changed since `?since=`."""
        batch = find(batches_with_item_counts(self.get_queryset(request)), unquote(object_id))
        if batch is None:
            raise Http404("No such batch.")
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        try:
            since = since_param(request)
        except BadSince as error:
            return bad_since(error)
        # A batch holds at most a few hundred photos: all of them, for the counts, in one query.
        photos = list(batch.photos.select_related("photo__media", "item"))
        changed = [
            sent for sent in photos if since is None or max(sent.updated_at, sent.item.updated_at) >= since
        ]
        row_context = {"batch": batch, "can_run": self.has_run_jobs_permission(request)}
        counts_text = batch_counts_text([sent_status(sent) for sent in photos])
        ended = batch.status not in BATCH_WORKING
        label = batch.get_status_display()
        return progress_json(
            state=batch.status,
            state_label=label,
            ended=ended,
            counts=item_counts(batch),
            rows=[
                {"id": sent.pk, "status": sent.item.status, "html": photo_row(sent, row_context)}
                for sent in changed
            ],
            text={
                "batch-status": label,
                "batch-counts": counts_text,
                "batch-polls": f"{batch.polls} time(s)",
                "batch-next-poll": local_time(batch.next_poll_at),
            },
            announce=batch_announcement(batch, counts_text),
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The batch page: each photo's status and Booking.com's message, counts per status."""
        batch = self._batch(request, object_id, run=False)
        can_run = self.has_run_jobs_permission(request)
        photos = list(batch.photos.select_related("photo__media", "item"))
        items = ItemCounts(dict.fromkeys(ItemStatus.values, 0) | Counter(sent.item.status for sent in photos))
        counts_text = batch_counts_text([sent_status(sent) for sent in photos])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(batch),
            "batch": batch,
            "tag_names": ", ".join(tag_names(batch.tags)),
            "rows": [photo_row(sent, {"batch": batch, "can_run": can_run}) for sent in photos],
            "counts": counts_text,
            "announce": batch_announcement(batch, counts_text),
            "done": items.done,
            "total": items.total,
            "percent": percent(items.done, items.total),
            "can_run": can_run,
            "can_refresh": can_run and batch.status == BatchStatus.POLLING,
            "job_url": job_url(batch.job),
            "ended": batch.status not in BATCH_WORKING,
            "since": cursor_now(),
        }
        return TemplateResponse(request, "admin/media_sync/subatch/detail.html", context)
