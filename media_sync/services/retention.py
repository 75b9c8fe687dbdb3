"""Retention of everything but the audit: expired sessions, old webhook deliveries and django-q2 task
rows, and the files of finished work. The audit keeps its own rules (it is never pruned here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import Q
from django.utils import timezone
from django_q.models import Task

from media_sync.models import JobStatus, MediaFile, TransferJob, WebhookDelivery, WebhookStatus

FINISHED_WEBHOOKS = [WebhookStatus.PROCESSED, WebhookStatus.IGNORED, WebhookStatus.FAILED]
OPEN_JOBS = [JobStatus.PENDING, JobStatus.RUNNING]


@dataclass(frozen=True)
class PruneReport:
    sessions: int
    webhook_deliveries: int
    task_rows: int
    media_files: int
    media_bytes: int

    def lines(self) -> list[str]:
        days = settings.MEDIA_SYNC_RETENTION_DAYS
        return [
            f"expired sessions: {self.sessions}",
            f"webhook deliveries older than {days} days: {self.webhook_deliveries}",
            f"background task rows older than {days} days: {self.task_rows}",
            f"files of work finished over {settings.MEDIA_SYNC_MEDIA_GRACE_DAYS} days ago: "
            f"{self.media_files} ({self.media_bytes} bytes)",
        ]


def _prunable_media() -> tuple[list[int], int]:
    """Uploaded files (CorrigoPro uploads) whose every job ended over the grace period ago. Never a
    Booking.com gallery photo (it is the gallery), never a file an open job still names, never our kept
    copy of a CorrigoPro attachment while its attachment row exists (it is the evidence)."""
    cutoff = timezone.now() - timedelta(days=settings.MEDIA_SYNC_MEDIA_GRACE_DAYS)
    needed: set[int] = set()
    recent = Q(status__in=OPEN_JOBS) | Q(finished_at__gte=cutoff) | Q(finished_at__isnull=True)
    for media_id in (
        TransferJob.objects.filter(recent, params__has_key="media_file_id")
        .values_list("params__media_file_id", flat=True)
        .iterator()
    ):
        needed.add(int(media_id))
    candidates = (
        MediaFile.objects.filter(su_photo__isnull=True, cp_kept__isnull=True, created_at__lt=cutoff)
        .exclude(file="")
        .values_list("pk", "size")
    )
    chosen = [(pk, size) for pk, size in candidates.iterator() if pk not in needed]
    return [pk for pk, _ in chosen], sum(size for _, size in chosen)


def prune(*, dry_run: bool) -> PruneReport:
    now = timezone.now()
    old = now - timedelta(days=settings.MEDIA_SYNC_RETENTION_DAYS)
    sessions = Session.objects.filter(expire_date__lt=now)
    deliveries = WebhookDelivery.objects.filter(status__in=FINISHED_WEBHOOKS, received_at__lt=old)
    tasks = Task.objects.filter(stopped__lt=old)
    media_ids, media_bytes = _prunable_media()
    report = PruneReport(sessions.count(), deliveries.count(), tasks.count(), len(media_ids), media_bytes)
    if dry_run:
        return report
    sessions.delete()
    deliveries.delete()
    tasks.delete()
    for media in MediaFile.objects.filter(pk__in=media_ids).iterator():
        # The row stays (its name, size and SHA-256 still answer "was this sent before?"); the bytes go.
        media.file.delete(save=False)
        MediaFile.objects.filter(pk=media.pk).update(file="")
    return report
