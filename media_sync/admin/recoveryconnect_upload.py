"""The order page's "Upload photos…": a form taking several files at once, and the view that starts the
upload job (media_sync/services/recoveryconnect_upload.py does the checking, as for rc_upload)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from media_sync.admin.base import ReadOnlyAdminMixin, posted, start_or_show
from media_sync.models import (
    Operation,
    Provider,
    RecoveryConnectOrder,
    RecoveryConnectPhoto,
    RecoveryConnectRecovery,
    TransferJob,
)
from media_sync.services.audit import audit_name_items
from media_sync.services.recoveryconnect_upload import (
    DEFAULT_TYPE_ID,
    UploadSource,
    rc_parse_picture_time,
    rc_upload_start,
)
from media_sync.services.refusals import InputRefused

URL_NAME = "media_sync_recoveryconnectorder_upload"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one `<input type=file multiple>`: a list of them, each checked as a file."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


def known_types() -> list[tuple[int, str]]:
    """The photo types the mirrored photos carry (RecoveryConnect publishes no list of them)."""
    pairs = (
        RecoveryConnectPhoto.objects.exclude(type_id=None)
        .exclude(type_name="")
        .values_list("type_id", "type_name")
        .distinct()
        .order_by("type_name")
    )
    return [(int(type_id), name) for type_id, name in dict(pairs).items() if type_id is not None]


class RecoveryUploadForm(forms.Form):
    photos = MultipleFileField(help_text="One or more pictures. Each is checked from its bytes first.")
    recovery = forms.TypedChoiceField(coerce=int, help_text="The order has several recoveries: choose one.")
    photo_type = forms.TypedChoiceField(label="Photo type", coerce=int, required=False)
    personal = forms.BooleanField(
        label="Personal property",
        required=False,
        help_text="Photos of personal property found at the recovery (RecoveryConnect's own upload).",
    )
    caption = forms.CharField(
        max_length=255, required=False, help_text="The image name sent; each file's name when empty."
    )
    picture_time = forms.CharField(
        label="Picture time",
        required=False,
        help_text="YYYY-MM-DD HH:MM:SS. Empty: each photo's EXIF capture time, else the time of this upload.",
    )

    def __init__(self, *args: Any, order: RecoveryConnectOrder, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Active ones first, newest first; nothing is chosen for the operator: a photo on the wrong
        # recovery is a photo in the wrong repossession's evidence.
        recoveries = sorted(
            order.recoveries.all(), key=lambda r: (r.is_active, r.created_at_provider or ""), reverse=True
        )
        if len(recoveries) > 1:
            cast(forms.TypedChoiceField, self.fields["recovery"]).choices = [
                ("", "— choose a recovery —"),
                *(
                    (r.recovery_id, f"{r.recovery_id} — created {r.created_at_provider or '?'}"
                     f"{'' if r.is_active else ' (inactive)'}")
                    for r in recoveries
                ),
            ]  # fmt: skip
        else:
            del self.fields["recovery"]  # one (or none: the service says so) — nothing to choose
        types = known_types()
        if types:
            blank = "— (general photo; none for personal property)"
            field = cast(forms.TypedChoiceField, self.fields["photo_type"])
            field.choices = [("", blank), *((i, f"{name} ({i})") for i, name in types)]
            field.empty_value = None
        else:
            self.fields["photo_type"] = forms.IntegerField(
                label="Photo type",
                min_value=1,
                required=False,
                help_text=f"RecoveryConnect's attachment type id (no mirrored photo names one yet; empty: "
                f"{DEFAULT_TYPE_ID}, a general photo).",
            )

    def clean_picture_time(self) -> Any:
        text = self.cleaned_data["picture_time"].strip()
        try:
            return rc_parse_picture_time(text) if text else None
        except InputRefused as refusal:
            raise forms.ValidationError(str(refusal)) from None


def upload_view(modeladmin: Any, request: HttpRequest, object_id: str) -> HttpResponse:
    """Operators only (run_jobs), as every page that starts a job."""
    order = modeladmin.get_object(request, unquote(object_id))
    if order is None:
        raise Http404("No such order.")
    if not modeladmin.has_run_jobs_permission(request):
        raise PermissionDenied
    form = RecoveryUploadForm(**posted(request), order=order)
    uploaded_at = timezone.now()

    def start(data: dict[str, Any]) -> TransferJob:
        return rc_upload_start(
            order=order,
            files=[UploadSource(source=f, name=f.name, file_time=uploaded_at) for f in data["photos"]],
            recovery_id=data.get("recovery"),
            type_id=data.get("photo_type"),
            caption=data["caption"],
            personal=data["personal"],
            picture_time=data["picture_time"],
            triggered_by=request.user.get_username(),
        )

    names = [str(f.name) for f in request.FILES.getlist("photos")]
    return start_or_show(
        modeladmin,
        request,
        order,
        form,
        start,
        provider=Provider.RECOVERYCONNECT,
        operation=Operation.RC_UPLOAD_PHOTOS,
        subject=f"order {order.order_id}",
        item=audit_name_items(names, "files") if names else "",
        title=f"Upload photos to order {order.order_id}",
        submit_label="Upload",
    )


class RecoveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The order's recoveries, as last listed (read-only: RecoveryConnect is where they change)."""

    model = RecoveryConnectRecovery
    fields = readonly_fields = ("recovery_id", "created_at_provider", "is_active", "photo_count", "synced_at")
    extra = 0
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecoveryConnectRecovery]:
        queryset: QuerySet[RecoveryConnectRecovery] = super().get_queryset(request)
        return queryset.annotate(photo_count=Count("photos"))

    @admin.display(description="photos")
    def photo_count(self, recovery: RecoveryConnectRecovery) -> int:
        return int(recovery.photo_count)  # type: ignore[attr-defined]
