from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, reverse
from django.utils.html import format_html

from media_sync.admin.base import (
    ForgivingListMixin,
    ReadOnlyAdminMixin,
    RunJobsPermissionMixin,
    admin_route,
    job_url,
    record_refusal,
)
from media_sync.admin.pictures import picture
from media_sync.admin.progress import (
    ROW_LIMIT,
    BadSince,
    bad_since,
    cursor_now,
    find,
    local_time,
    percent,
    progress_json,
    since_param,
)
from media_sync.models import CheckResult, ItemStatus, JobStatus, Operation, TransferJob
from media_sync.selectors import (
    ItemCounts,
    item_counts,
    job_item_pictures,
    job_items_changed,
    with_item_counts,
)
from media_sync.services.checks import job_can_check, job_check_enqueue
from media_sync.services.jobs import job_retry_failed
from media_sync.services.refusals import InputRefused

ITEMS_PER_PAGE = 100


def job_can_retry(job: TransferJob) -> bool:
    return job.status in (JobStatus.PARTLY_FAILED, JobStatus.FAILED)


def job_announcement(job: TransferJob, counts: ItemCounts) -> str:
    """The sentence the page's live region reads out when it changes."""
    done = f"{counts.done} of {counts.total} items done"
    failed = f", {counts[ItemStatus.FAILED]} failed" if counts[ItemStatus.FAILED] else ""
    if job.is_finished:
        return f"Job ended: {job.get_status_display()}. {done}{failed}."
    return f"{job.get_status_display()}: {done}{failed}."


def format_duration(elapsed: timedelta) -> str:
    seconds = elapsed.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


@admin.register(TransferJob)
class TransferJobAdmin(ForgivingListMixin, RunJobsPermissionMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "operation_label",
        "subject",
        "status_label",
        "progress",
        "triggered_by",
        "created_at",
    ]
    list_display_links = ["id", "operation_label"]
    list_filter = ["provider", "status", "operation"]
    search_fields = ["=id", "subject", "triggered_by"]
    search_help_text = "Job id (exact), order id as in the subject, or user name."
    date_hierarchy = "created_at"
    actions = ["retry_failed"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[TransferJob]:
        # The list, the job page and its progress endpoint all read the counts with the job itself.
        return with_item_counts(super().get_queryset(request))

    @admin.display(description="operation", ordering="operation")
    def operation_label(self, job: TransferJob) -> str:
        return job.get_operation_display()

    @admin.display(description="status", ordering="status")
    def status_label(self, job: TransferJob) -> str:
        return format_html(
            '<span class="job-status job-status-{}">{}</span>', job.status, job.get_status_display()
        )

    @admin.display(description="done")
    def progress(self, job: TransferJob) -> str:
        counts = item_counts(job)
        failed = f", {counts[ItemStatus.FAILED]} failed" if counts[ItemStatus.FAILED] else ""
        return f"{counts.done} of {counts.total}{failed}"

    @admin.action(description="Retry failed items of the selected jobs", permissions=["run_jobs"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[TransferJob]) -> None:
        retried = {job.pk: job_retry_failed(job=job) for job in queryset}
        items, jobs = sum(retried.values()), sum(1 for n in retried.values() if n)
        if items:
            self.message_user(
                request, f"{items} failed item(s) of {jobs} job(s) sent again.", messages.SUCCESS
            )
        else:
            self.message_user(
                request, "Nothing to retry: no finished job among those has failed items.", messages.WARNING
            )

    def get_urls(self) -> list[URLPattern]:
        return [
            admin_route(self, "<path:object_id>/retry/", self.retry_view, post=True),
            admin_route(self, "<path:object_id>/progress/", self.progress_view),
            admin_route(self, "<path:object_id>/check/", self.check_view, post=True),
            *super().get_urls(),
        ]

    def check_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Check at the provider: it only reads (one list call per destination) and sends nothing, so
        whoever may see the job may ask — team leads auditing transfers included."""
        job = self.get_object(request, unquote(object_id))
        if job is None or not self.has_view_permission(request, job):
            raise PermissionDenied
        try:
            job_check_enqueue(job=job, triggered_by=request.user.get_username())
        except InputRefused as refusal:
            record_refusal(
                request, str(refusal), provider=job.provider, operation=Operation.CHECK, subject=job.subject
            )
            self.message_user(request, str(refusal), messages.ERROR)
        else:
            self.message_user(
                request,
                "Checking at the provider: each item's “At the provider” column shows what was found, "
                "usually within a minute (reload this page).",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(job_url(job))

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        job = self.get_object(request, unquote(object_id))
        if job is None or not self.has_run_jobs_permission(request):
            raise PermissionDenied
        count = job_retry_failed(job=job)
        if count:
            self.message_user(request, f"{count} failed item(s) sent again.", messages.SUCCESS)
        else:
            self.message_user(
                request, "Nothing to retry: the job is still running or nothing failed.", messages.WARNING
            )
        return HttpResponseRedirect(job_url(job))

    def progress_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The job page's live part as JSON: state, counts, and the item rows changed since `?since=`."""
        job = find(self.get_queryset(request), unquote(object_id))
        if job is None:
            raise Http404(f"No job with id {object_id}.")
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        try:
            since = since_param(request)
        except BadSince as error:
            return bad_since(error)
        counts = item_counts(job)
        items = job_items_changed(job, since=since, limit=ROW_LIMIT)
        pictures = job_item_pictures(job, items) if items else {}
        for item in items:
            item.picture = picture(pictures.get(item.pk))  # type: ignore[attr-defined]
        finished = local_time(job.finished_at)
        if job.finished_at and job.started_at:
            finished += f" (took {format_duration(job.finished_at - job.started_at)})"
        text = {
            "job-status": job.get_status_display(),
            "job-progress": f"{counts.done} of {counts.total}",
            "count-all": f"All {counts.total}",
            **{f"count-{value}": f"{label} {counts[value]}" for value, label in ItemStatus.choices},
            "job-finished": finished,
            "job-retry-button": f"Retry failed items ({counts[ItemStatus.FAILED]})",
        }
        rows = [
            {
                "id": item.pk,
                "status": item.status,
                "html": render_to_string(
                    "admin/media_sync/transferjob/item_row.html",
                    {"item": item, "show_groups": request.user.has_perm("media_sync.view_failuregroup")},
                ),
            }
            for item in items
        ]
        return progress_json(
            state=job.status,
            state_label=job.get_status_display(),
            ended=job.is_finished,
            counts=counts,
            rows=rows,
            more_from=items[-1].updated_at if len(items) == ROW_LIMIT else None,
            text=text,
            announce=job_announcement(job, counts),
            can_retry=job_can_retry(job) and self.has_run_jobs_permission(request),
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The job page: progress, per-outcome counts and every item with the provider's word."""
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404(f"No job with id {object_id}.")
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        status_filter = request.GET.get("status", "")
        items = job.items.all()
        if status_filter in ItemStatus.values:
            items = items.filter(status=status_filter)
        elif status_filter:
            self.message_user(
                request,
                f"There is no item status {status_filter[:50]}: every item is shown.",
                messages.WARNING,
            )
            status_filter = ""
        asked_page = request.GET.get("page", "")
        page = Paginator(items, ITEMS_PER_PAGE).get_page(asked_page)
        if asked_page and asked_page != str(page.number):
            self.message_user(
                request, f"There is no page {asked_page[:50]}: page {page.number} is shown.", messages.WARNING
            )
        pictures = job_item_pictures(job, list(page))
        for item in page:
            item.picture = picture(pictures.get(item.pk))
        counts = item_counts(job)
        checks = job.items.aggregate(
            confirmed=Count("id", filter=Q(check_result=CheckResult.CONFIRMED)), last=Max("checked_at")
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(job),
            "job": job,
            "page": page,
            "counts": counts,
            "total": counts.total,
            "done": counts.done,
            "percent": percent(counts.done, counts.total),
            "status_filter": status_filter,
            "statuses": [(value, label, counts[value]) for value, label in ItemStatus.choices],
            "announce": job_announcement(job, counts),
            "can_run": self.has_run_jobs_permission(request),
            "can_retry": job_can_retry(job) and self.has_run_jobs_permission(request),
            "since": cursor_now(),
            "can_check": job_can_check(job) and self.has_view_permission(request, job),
            "show_groups": request.user.has_perm("media_sync.view_failuregroup"),
            "confirmed": checks["confirmed"],
            "last_checked": checks["last"],
            "audit_url": reverse("admin:media_sync_auditevent_changelist") + f"?job={job.pk}",
            "duration": format_duration(job.finished_at - job.started_at)
            if job.finished_at and job.started_at
            else None,
        }
        return TemplateResponse(request, "admin/media_sync/transferjob/detail.html", context)
