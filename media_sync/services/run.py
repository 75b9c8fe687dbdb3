"""The one entry point workers and `--sync` commands use to run a job."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings

from config.observability import log_about
from media_sync.models import ItemStatus, TransferJob
from media_sync.services import (
    corrigopro_keep,
    corrigopro_runners,
    recoveryconnect,
    recoveryconnect_batch,
    recoveryconnect_documents,
    recoveryconnect_upload,
    suapi,
    suapi_gallery,
    suapi_gallery_jobs,
    suapi_polls,
)
from media_sync.services.claims import job_run_scope
from media_sync.services.jobs import job_enqueue, job_mark_started, job_refresh_status

logger = logging.getLogger(__name__)

RUNNERS: dict[str, Callable[[TransferJob], None]] = {
    **recoveryconnect.RUNNERS,
    **recoveryconnect_batch.RUNNERS,
    **recoveryconnect_documents.RUNNERS,
    **recoveryconnect_upload.RUNNERS,
    **corrigopro_runners.RUNNERS,
    **corrigopro_keep.RUNNERS,
    **suapi.RUNNERS,
    **suapi_polls.RUNNERS,
    **suapi_gallery.RUNNERS,
    **suapi_gallery_jobs.RUNNERS,
}


def job_run(*, job_id: int) -> TransferJob | None:
    """Work through the job's pending items. Safe to call twice at once or after a crash: items are
    claimed one group at a time and an item that already ended is never taken again."""
    job = TransferJob.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("job %s does not exist; nothing to run", job_id)
        return None
    if job.is_finished:
        return job
    job_mark_started(job=job)
    # A long job goes on in a fresh task rather than run into django-q2's timeout mid-item.
    with log_about(job_id=job.pk), job_run_scope(job=job, budget_s=settings.MEDIA_SYNC_RUN_BUDGET):
        RUNNERS[job.operation](job)
    job = job_refresh_status(job=job)
    if not job.is_finished and job.items.filter(status=ItemStatus.PENDING).exists():
        job_enqueue(job_id=job.pk)
    return job
