"""The one entry point workers and `--sync` commands use to run a job."""

from __future__ import annotations

import logging
from collections.abc import Callable

from media_sync.models import TransferJob
from media_sync.services import corrigopro, recoveryconnect, suapi
from media_sync.services.jobs import job_mark_started, job_refresh_status

logger = logging.getLogger(__name__)

RUNNERS: dict[str, Callable[[TransferJob], None]] = {
    **recoveryconnect.RUNNERS,
    **corrigopro.RUNNERS,
    **suapi.RUNNERS,
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
    RUNNERS[job.operation](job)
    return job_refresh_status(job=job)
