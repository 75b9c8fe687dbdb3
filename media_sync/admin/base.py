"""Pieces every provider's admin shares: the run permission and the intermediate action page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR, ChangeList
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from media_sync.admin.display import timeline_url
from media_sync.models import TransferJob
from media_sync.services.audit import audit_record_refusal
from media_sync.services.refusals import InputRefused

RUN_JOBS = "media_sync.run_jobs"
# One action takes at most this many rows: the form lists them and the job's params name them.
MAX_SELECTION = 1000


class RunJobsPermissionMixin:
    """`allowed_permissions = ("run_jobs",)` on an action checks this."""

    def has_run_jobs_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RUN_JOBS)


class UploadToolMixin(RunJobsPermissionMixin, admin.ModelAdmin):
    """An upload link among the record page's tools, for whoever may run the upload (a team lead would meet
    a 403 behind it): `upload_tool` is the upload view's URL name and the link's words."""

    upload_tool: tuple[str, str]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = extra_context or {}
        if self.has_run_jobs_permission(request) and object_id.isdigit():
            name, label = self.upload_tool
            extra_context["object_tool_links"] = [(reverse(f"admin:{name}", args=[object_id]), label)]
        return super().change_view(request, object_id, form_url, extra_context)


class ReadOnlyAdminMixin:
    """Mirrors, jobs and the audit are written by services only, never edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ForgivingListMixin(admin.ModelAdmin):
    """A list asked for with a query it cannot answer (?p=-1, ?p=x, a page past the end, ?o=99, an
    unknown filter value, a bad date) shows the list with a message saying what was set aside, instead
    of Django's redirect to its "database error" page or a silent default. The page number goes first;
    then every filter but the search."""

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        asked = request.GET
        for step in ("as asked", "without the page", "search only"):
            kept = QueryDict(mutable=True)
            for name, values in asked.lists():
                if name == SEARCH_VAR or step == "as asked" or (step != "search only" and name != PAGE_VAR):
                    kept.setlist(name, values)
            request.GET = kept  # type: ignore[assignment]
            try:
                changelist = super().get_changelist_instance(request)
            except IncorrectLookupParameters:
                continue
            dropped = sorted(set(asked) - set(kept))
            if dropped:
                shown = ", ".join(f"{name}={asked.get(name, '')[:50]}" for name in dropped)
                messages.warning(request, f"The list could not be shown with {shown}: shown without it.")
            _note_ignored(request, changelist)
            return changelist
        raise IncorrectLookupParameters


def _note_ignored(request: HttpRequest, changelist: ChangeList) -> None:
    """What Django's list quietly ignores (a page that is no number, a sort by no column), said out loud."""
    page = request.GET.get(PAGE_VAR)
    if page is not None and not page.isdigit():
        messages.warning(request, f"The page p={page[:50]} is not a number: the first page is shown.")
    for spec in changelist.filter_specs:
        given = [name for name in spec.expected_parameters() if name and name in request.GET]
        choices = list(spec.choices(changelist)) if given else []
        # A filter that marks its chosen value (all but date ranges and free boxes) and marks none
        # was given a value it does not offer.
        marked = [choice["selected"] for choice in choices if "selected" in choice]
        if choices and len(marked) == len(choices) and not any(marked):
            shown = ", ".join(f"{name}={request.GET[name][:50]}" for name in given)
            messages.warning(request, f"The {spec.title} filter offers no {shown}: nothing matches it.")
    order = request.GET.get(ORDER_VAR)
    if order:
        columns = changelist.list_display
        for part in order.split("."):
            index = part.removeprefix("-")
            if not (
                index.isdigit()
                and int(index) < len(columns)
                and changelist.get_ordering_field(columns[int(index)]) is not None
            ):
                messages.warning(
                    request, f"The sort order o={order[:50]} names no column: the usual order is shown."
                )
                return


@dataclass(frozen=True)
class HistoryRow:
    """One row of a pre-flight table checked against our own history: what would be sent, and what was
    done with it before (a flagged row starts unticked). `texts` words the table for its provider."""

    photo: Any
    warnings: list[str]
    texts: dict[str, str]
    thumbnail: str = ""
    problems: tuple[str, ...] = ()


def admin_route(
    model_admin: admin.ModelAdmin, route: str, view: Callable[..., HttpResponseBase], *, post: bool = False
) -> URLPattern:
    """One of a ModelAdmin's own URLs: the admin's login and permission checks first, one HTTP method (POST
    for what changes something, GET for what reads), named media_sync_<model>_<the route's last word>."""
    method = require_POST if post else require_GET
    word = route.rstrip("/").rsplit("/", 1)[-1]
    name = f"media_sync_{model_admin.model._meta.model_name}_{word}"
    return path(route, model_admin.admin_site.admin_view(method(view)), name=name)


def job_url(job: TransferJob) -> str:
    return reverse("admin:media_sync_transferjob_change", args=[job.pk])


def submit(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    form: forms.Form,
    start: Callable[[dict[str, Any]], TransferJob],
    *,
    provider: str,
    operation: str,
    subject: str = "",
    item: str = "",
) -> HttpResponse | None:
    """Start the job a submitted form asks for and land on its page. A refusal, by the form or by the
    service, stays on the form with the reason, and is written to the audit with its subject and item."""
    if form.is_valid():
        try:
            job = start(form.cleaned_data)
        except InputRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            modeladmin.message_user(request, f"Job {job.pk} started: {job}.", messages.SUCCESS)
            return HttpResponseRedirect(job_url(job))
    reasons = "; ".join(
        " ".join(map(str, errors)) if field == NON_FIELD_ERRORS else f"{field}: {' '.join(map(str, errors))}"
        for field, errors in form.errors.items()
    )
    record_refusal(request, reasons, provider=provider, operation=operation, subject=subject, item=item)
    return None


def record_refusal(
    request: HttpRequest, message: str, *, provider: str, operation: str, subject: str = "", item: str = ""
) -> None:
    """The audit row of a refusal an admin page shows, as whoever is signed in: `submit` writes a form's
    refusals here, and so does a page that refuses without a form (a CorrigoPro download link, the
    Booking.com photo upload)."""
    audit_record_refusal(
        provider=provider,
        operation=operation,
        triggered_by=request.user.get_username(),
        message=message,
        subject=subject,
        item=item,
    )


def intermediate_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    form_class: type[forms.Form],
    title: str,
    action: str,
    submit_label: str,
    start: Callable[[dict[str, Any]], TransferJob],
    provider: str,
    operation: str,
    subject: str = "",
    item: str = "",
    extra_context: dict[str, Any] | None = None,
    history: Callable[[dict[str, Any]], list[HistoryRow]] | None = None,
) -> HttpResponse | None:
    """An action that asks for more input first, in the manner of `delete_selected`.

    The first POST (from the changelist) shows the form; the second carries `apply` and, when the form
    is valid, calls `start(cleaned_data)`, which returns the job; the operator lands on its page.
    With `history`, a valid form whose rows our own history flags (done before) is shown once more
    with those rows unticked; the POST that confirms it carries `confirm` and the ticked `include`s.
    """
    if queryset.count() > MAX_SELECTION:
        modeladmin.message_user(
            request, f"Select at most {MAX_SELECTION} at a time; narrow the list first.", messages.ERROR
        )
        return None
    form = form_class(request.POST if "apply" in request.POST else None)
    extra = dict(extra_context or {})
    if "apply" in request.POST:
        confirming = "confirm" in request.POST
        rows = history(form.cleaned_data) if history and form.is_valid() else []
        flagged = any(row.warnings for row in rows)
        if confirming or not flagged:
            started = submit(
                modeladmin,
                request,
                form,
                start,
                provider=provider,
                operation=operation,
                subject=subject,
                item=item,
            )
            if started:
                return started
        if flagged:
            clean = {str(row.photo.pk) for row in rows if not row.warnings}
            ticked = set(request.POST.getlist("include")) if confirming else clean
            extra["preflight"] = [(row, row.thumbnail, str(row.photo.pk) in ticked) for row in rows]
            extra["preflight_confirm"] = True
            extra.update(rows[0].texts)
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": queryset,
        "opts": opts,
        "action": action,
        "submit_label": submit_label,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        **extra,
    }
    return TemplateResponse(request, "admin/media_sync/action_form.html", context)


class ConfirmForm(forms.Form):
    pass


def posted(request: HttpRequest) -> dict[str, Any]:
    """Form data when the request is a POST (even an empty one: a confirmation), else an unbound form."""
    if request.method != "POST":
        return {}
    return {"data": request.POST, "files": request.FILES}


def object_form(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    obj: Any,
    *,
    form: forms.Form,
    title: str,
    submit_label: str,
    warning: str = "",
) -> TemplateResponse:
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "object": obj,
        "title": title,
        "form": form,
        "submit_label": submit_label,
        "warning": warning,
    }
    return TemplateResponse(request, "admin/media_sync/object_form.html", context)


def start_or_show(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    obj: Any,
    form: forms.Form,
    start: Callable[[dict[str, Any]], TransferJob],
    *,
    provider: str,
    operation: str,
    subject: str = "",
    item: str = "",
    **page: str,
) -> HttpResponse:
    """A submitted form starts the job and lands on its page; otherwise the form is shown (again)."""
    if request.method == "POST":
        started = submit(
            modeladmin,
            request,
            form,
            start,
            provider=provider,
            operation=operation,
            subject=subject,
            item=item,
        )
        if started:
            return started
    return object_form(modeladmin, request, obj, form=form, **page)


class TimelineLinkMixin:
    """A "Timeline" link among a record's object tools: every audit row about it, for whoever reads the
    audit. `timeline_kind` names the timeline, `timeline_key` the field holding the provider's id."""

    timeline_kind = ""
    timeline_key = ""

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None and request.user.has_perm("media_sync.view_auditevent"):
            context["timeline_url"] = timeline_url(self.timeline_kind, str(getattr(obj, self.timeline_key)))
        return super().render_change_form(request, context, add, change, form_url, obj)  # type: ignore[misc, no-any-return]
