"""Open failures: the failure groups team leads work from (the list), one group's page with its triage
actions and events, retrying a group, and the triage events as CSV. Triage itself is services/triage.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, reverse
from django.utils import timezone
from django.utils.timesince import timesince

from media_sync.admin import display
from media_sync.admin.audit_query import EXPORT_AUDIT
from media_sync.admin.base import RUN_JOBS, ForgivingListMixin, ReadOnlyAdminMixin, admin_route
from media_sync.models import (
    STILL_OPEN,
    AuditEvent,
    FailureGroup,
    GroupStatus,
    ItemStatus,
    ResolveReason,
    TransferItem,
    TriageAction,
    TriageEvent,
)
from media_sync.reports import triage_csv_lines
from media_sync.selectors_triage import group_failed_items, open_failure_counts, with_failed_counts
from media_sync.services.refusals import InputRefused
from media_sync.services.triage import (
    DECIDING_ACTIONS,
    PEOPLES_ACTIONS,
    TRIAGE_DECIDE,
    TRIAGE_NOTE,
    triage_act,
    triage_assignees,
    triage_retry,
)

ITEMS_SHOWN = 100
EVENTS_SHOWN = 100
ACTION_WORDS: dict[str, str] = {
    TriageAction.ACKNOWLEDGE: "Acknowledge",
    TriageAction.ASSIGN: "Assign",
    TriageAction.NOTE: "Add a note",
    TriageAction.RESOLVE: "Resolve",
    TriageAction.IGNORE: "Ignore",
}


def group_url(group: FailureGroup) -> str:
    return reverse("admin:media_sync_failuregroup_change", args=[group.pk])


def may(user: Any, action: str) -> bool:
    """Operators acknowledge and note; team leads also assign, resolve and ignore."""
    return bool(user.has_perm(TRIAGE_DECIDE if action in DECIDING_ACTIONS else TRIAGE_NOTE))


class TriageForm(forms.Form):
    action = forms.ChoiceField(label="Action")
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label="Assign to")
    reason = forms.ChoiceField(
        choices=[("", "—"), *ResolveReason.choices], required=False, label="Reason (to resolve)"
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)
    items = forms.ModelMultipleChoiceField(queryset=TransferItem.objects.none(), required=False)

    def __init__(self, *args: Any, group: FailureGroup, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actions = [(action, ACTION_WORDS[action]) for action in PEOPLES_ACTIONS if may(user, action)]
        self.fields["action"].choices = actions  # type: ignore[attr-defined]
        owners = User.objects.filter(triage_assignees()).distinct().order_by("username")
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]
        failed = group.items.filter(status=ItemStatus.FAILED)
        self.fields["items"].queryset = failed  # type: ignore[attr-defined]
        if not may(user, TriageAction.ASSIGN):  # an operator: no owner, no reason to choose
            del self.fields["owner"], self.fields["reason"]


class StateFilter(admin.SimpleListFilter):
    """Still open (open or acknowledged) unless asked otherwise: the team lead's question."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*GroupStatus.choices, ("all", "Every state")]

    def choices(self, changelist: ChangeList) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Still open",
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() is None:
            return queryset.filter(status__in=STILL_OPEN)
        return queryset if self.value() == "all" else queryset.filter(status=self.value())


@admin.register(FailureGroup)
class FailureGroupAdmin(ReadOnlyAdminMixin, ForgivingListMixin):
    """Written by services only (items joining, triage actions); nobody edits or deletes a group here."""

    list_display = [
        "age",
        "provider",
        "operation_label",
        "failure_class_label",
        "cause",
        "failed_now",
        "status",
        "owner",
    ]
    list_display_links = ["cause"]
    list_filter = [StateFilter, "provider", ("owner", admin.RelatedOnlyFieldListFilter)]
    show_facets = admin.ShowFacets.NEVER
    empty_value_display = "nobody"
    list_select_related = ["owner"]
    list_per_page = 100
    ordering = ["opened_at", "id"]
    change_list_template = "admin/media_sync/failuregroup/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[FailureGroup]:
        return with_failed_counts(super().get_queryset(request))

    @admin.display(description="age", ordering="opened_at")
    def age(self, group: FailureGroup) -> str:
        return timesince(group.opened_at, timezone.now(), depth=1)

    @admin.display(description="operation", ordering="operation")
    def operation_label(self, group: FailureGroup) -> str:
        return display.operation_words(group.operation)

    @admin.display(description="failure class", ordering="failure_class")
    def failure_class_label(self, group: FailureGroup) -> str:
        return group.failure_class_words

    @admin.display(description="cause")
    def cause(self, group: FailureGroup) -> str:
        return display.truncated(group.pattern, 100)

    @admin.display(description="failed now", ordering="failed")
    def failed_now(self, group: FailureGroup) -> int:
        return int(group.failed)  # type: ignore[attr-defined]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        by_provider, by_owner = open_failure_counts()
        extra_context = {
            **(extra_context or {}),
            "by_provider": by_provider,
            "by_owner": by_owner,
            "can_export": request.user.has_perm(EXPORT_AUDIT),
            "title": "Open failures",
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        return [
            admin_route(self, "export/", self.export_view),
            admin_route(self, "<path:object_id>/triage/", self.triage_view, post=True),
            admin_route(self, "<path:object_id>/retry/", self.retry_view, post=True),
            *super().get_urls(),
        ]

    def _group(self, request: HttpRequest, object_id: str) -> FailureGroup:
        group: FailureGroup | None = self.get_object(request, unquote(object_id))
        if group is None:
            raise Http404(f"No failure group with id {object_id[:40]}.")
        if not self.has_view_permission(request, group):
            raise PermissionDenied
        return group

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """One group: its cause, state and owner, the triage form, its failed items and its events."""
        group = self._group(request, object_id)
        form = TriageForm(group=group, user=request.user)
        items = group_failed_items(group, limit=ITEMS_SHOWN)
        for item in items:
            # Its photo's or attachment's timeline, worked out as the audit list does for an item row.
            about = AuditEvent(provider=group.provider, operation=group.operation, item=item.item)
            item.link = display.linked(item.item, display.item_timeline(about))  # type: ignore[attr-defined]
            item.triaged_label = TriageAction(item.triaged).label if item.triaged else ""  # type: ignore[attr-defined]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Failure group {group.pk}",
            "group": group,
            "age": timesince(group.opened_at, timezone.now(), depth=2),
            "form": form,
            "can_triage": bool(form.fields["action"].choices),  # type: ignore[attr-defined]
            "can_retry": request.user.has_perm(RUN_JOBS),
            "items": items,
            "failed": group.items.filter(status=ItemStatus.FAILED).count(),
            "events": group.events.select_related("item")[:EVENTS_SHOWN],
            "can_export": request.user.has_perm(EXPORT_AUDIT),
        }
        return TemplateResponse(request, "admin/media_sync/failuregroup/detail.html", context)

    def triage_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        group = self._group(request, object_id)
        action = request.POST.get("action", "")
        if action not in PEOPLES_ACTIONS or not may(request.user, action):
            raise PermissionDenied
        form = TriageForm(request.POST, group=group, user=request.user)
        if not form.is_valid():
            for field, errors in form.errors.items():
                self.message_user(
                    request, f"{field}: {' '.join(str(error) for error in errors)}", messages.ERROR
                )
            return HttpResponseRedirect(group_url(group))
        data = form.cleaned_data
        try:
            events = triage_act(
                group=group,
                action=action,
                by=request.user,  # type: ignore[arg-type]
                items=list(data["items"]),
                owner=data.get("owner"),
                reason=data.get("reason", ""),
                note=data["note"],
            )
        except InputRefused as refusal:
            self.message_user(request, str(refusal), messages.ERROR)
        else:
            what = f"{len(events)} item(s)" if data["items"] else "the group"
            self.message_user(request, f"{ACTION_WORDS[action]}: done for {what}.", messages.SUCCESS)
        return HttpResponseRedirect(group_url(group))

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        group = self._group(request, object_id)
        if not request.user.has_perm(RUN_JOBS):
            raise PermissionDenied
        count = triage_retry(group=group, by=request.user)  # type: ignore[arg-type]
        if count:
            self.message_user(request, f"{count} failed item(s) sent again.", messages.SUCCESS)
        else:
            self.message_user(
                request, "Nothing to retry: no failed item of a finished job.", messages.WARNING
            )
        return HttpResponseRedirect(group_url(group))

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """Every triage event (of one group with ?group=), oldest first, as CSV."""
        if not (self.has_view_permission(request) and request.user.has_perm(EXPORT_AUDIT)):
            raise PermissionDenied
        events = TriageEvent.objects.all()
        group_id = request.GET.get("group", "")
        if group_id:
            if not (group_id.isascii() and group_id.isdigit() and len(group_id) <= 18):
                raise Http404("not a failure group id")
            events = events.filter(group_id=int(group_id))
        response = StreamingHttpResponse(
            triage_csv_lines(events, bom="bom" in request.GET), content_type="text/csv; charset=utf-8"
        )
        name = f"group-{group_id}" if group_id else "all"
        response["Content-Disposition"] = f'attachment; filename="triage-{name}.csv"'
        return response
