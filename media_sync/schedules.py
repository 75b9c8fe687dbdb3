"""The periodic work, declared once. Synced on every `migrate` (post_migrate): a schedule named here is
created or corrected, its next run left alone. Every qcluster runs them; django-q2 locks each due row."""

from __future__ import annotations

from typing import Any

from django_q.models import Schedule

EVERY = Schedule.MINUTES
SCHEDULES: dict[str, dict[str, Any]] = {
    "media-sync: sweep stale jobs": {
        "func": "media_sync.tasks.sweep_stale_jobs",
        "schedule_type": EVERY,
        "minutes": 1,
    },
    "media-sync: poll Booking.com photo batches": {
        "func": "media_sync.tasks.poll_su_batches",
        "schedule_type": EVERY,
        "minutes": 1,
    },
    "media-sync: seal the audit": {
        "func": "media_sync.tasks.seal_audit",
        "schedule_type": EVERY,
        "minutes": 1,
    },
    "media-sync: failure-rate alerts": {
        "func": "media_sync.tasks.check_alerts",
        "schedule_type": EVERY,
        "minutes": 5,
    },
    "media-sync: refresh Booking.com galleries": {
        "func": "media_sync.tasks.refresh_su_galleries",
        "schedule_type": Schedule.DAILY,
    },
    "media-sync: refresh Booking.com photo tags": {
        "func": "media_sync.tasks.refresh_su_tags",
        "schedule_type": Schedule.DAILY,
    },
    "media-sync: check finished jobs at the provider": {
        "func": "media_sync.tasks.check_finished_jobs",
        "schedule_type": Schedule.DAILY,
    },
    # Mails only with MEDIA_SYNC_TRIAGE_SUMMARY on: the task does nothing otherwise.
    "media-sync: daily summary of open failures": {
        "func": "media_sync.tasks.send_triage_summary",
        "schedule_type": Schedule.DAILY,
    },
    # Does nothing until MEDIA_SYNC_AUDIT_ARCHIVE_AFTER_DAYS is set.
    "media-sync: archive old audit rows": {
        "func": "media_sync.tasks.archive_old_audit",
        "schedule_type": Schedule.DAILY,
    },
    "media-sync: prune old rows and files": {
        "func": "media_sync.tasks.prune_old_rows",
        "schedule_type": Schedule.DAILY,
    },
}


def schedules_sync(**kwargs: Any) -> None:
    for name, schedule in SCHEDULES.items():
        Schedule.objects.update_or_create(name=name, defaults={**schedule, "repeats": -1})
