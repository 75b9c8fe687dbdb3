"""Pieces every provider's admin shares: the run permission and the intermediate action page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from media_sync.models import TransferJob
from media_sync.services.audit import audit_record_refusal
from media_sync.services.jobs import InputRefused

RUN_JOBS = "media_sync.run_jobs"
# One action takes at most this many rows: the form lists them and the job's params name them.
MAX_SELECTION = 1000


class RunJobsPermissionMixin:
    """`allowed_permissions = ("run_jobs",)` on an action checks this."""

    def has_run_jobs_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RUN_JOBS)


class ReadOnlyAdminMixin:
    """Mirrors, jobs and the audit are written by services only, never edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
    audit_record_refusal(
        provider=provider,
        operation=operation,
        triggered_by=request.user.get_username(),
        message=reasons,
        subject=subject,
        item=item,
    )
    return None


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
) -> HttpResponse | None:
    """An action that asks for more input first, in the manner of `delete_selected`.

    The first POST (from the changelist) shows the form; the second carries `apply` and, when the form
    is valid, calls `start(cleaned_data)`, which returns the job; the operator lands on its page.
    """
    if queryset.count() > MAX_SELECTION:
        modeladmin.message_user(
            request, f"Select at most {MAX_SELECTION} at a time; narrow the list first.", messages.ERROR
        )
        return None
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST:
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
        **(extra_context or {}),
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
