"""django-q2 entry points: take ids, call one service, nothing else."""

from __future__ import annotations

from media_sync.audit_partitions import audit_partitions_ensure
from media_sync.models import TransferJob
from media_sync.services.alerts import alerts_check
from media_sync.services.audit_archive import audit_archive_due
from media_sync.services.checks import job_check, jobs_check_due
from media_sync.services.jobs import jobs_sweep_stale
from media_sync.services.retention import prune
from media_sync.services.run import job_run
from media_sync.services.seals import audit_seal
from media_sync.services.suapi_gallery import su_galleries_refresh_all, su_tags_refresh_scheduled
from media_sync.services.suapi_polls import su_poll_due
from media_sync.services.thumbnails import thumbnails_make, thumbnails_sweep_stalled
from media_sync.services.triage_mail import triage_summary_send
from media_sync.services.webhooks import webhook_process, webhooks_sweep_received


def run_job(job_id: int) -> None:
    job_run(job_id=job_id)


def sweep_stale_jobs() -> dict[str, int]:
    return {
        **jobs_sweep_stale(),
        "webhooks_requeued": webhooks_sweep_received(),
        "thumbnails_requeued": thumbnails_sweep_stalled(),
    }


def process_webhook(delivery_id: int) -> None:
    webhook_process(delivery_id=delivery_id)


def poll_su_batches() -> int:
    return su_poll_due()


def refresh_su_galleries() -> int:
    return su_galleries_refresh_all()


def refresh_su_tags() -> int:
    return su_tags_refresh_scheduled()


def check_alerts() -> int:
    return len(alerts_check())


def check_job(job_id: int, triggered_by: str) -> str:
    return str(job_check(job=TransferJob.objects.get(pk=job_id), triggered_by=triggered_by))


def send_triage_summary() -> int:
    return triage_summary_send()


def check_finished_jobs() -> int:
    return jobs_check_due()


def prune_old_rows() -> list[str]:
    return prune(dry_run=False).lines()


def seal_audit() -> int:
    # Every minute, so the audit's partitions ahead (PostgreSQL) are never missed for long; cheap when
    # none is missing.
    audit_partitions_ensure()
    return audit_seal()


def archive_old_audit() -> list[str]:
    return audit_archive_due()


def make_thumbnails(provider: str, parent_id: int) -> None:
    thumbnails_make(provider=provider, parent_id=parent_id)
