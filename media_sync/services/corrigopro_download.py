"""CorrigoPro downloads: run in the request that asked, streamed to whoever asked, never by a worker.

A fresh link each time, never stored (CorrigoPro asks that it not be saved). A download the sweep finds
handed back was cut off: its runner, in `corrigopro_runners.py`, only records that.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import requests

from integrations.errors import FailureClass
from media_sync.models import CorrigoAttachment, Operation, TransferJob
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim_each
from media_sync.services.corrigopro import (
    WorkOrderParams,
    cp_attachment_check_present,
    cp_client,
    cp_job_create,
)
from media_sync.services.items import item_finish, provider_call
from media_sync.services.jobs import job_refresh_status


class DownloadParams(WorkOrderParams):
    """cp_download: nothing more; the item is the attachment id."""


class DownloadFailed(Exception):
    """CorrigoPro gave no file: the reason is in the job's item and the audit."""

    def __init__(self, job: TransferJob, message: str) -> None:
        super().__init__(message)
        self.job = job


@dataclass
class Download:
    job: TransferJob
    filename: str
    mime_type: str
    size: int | None
    chunks: Generator[bytes, None, None]


def cp_download(*, attachment: CorrigoAttachment, triggered_by: str) -> Download:
    """Ask for a fresh link (it is never stored) and open the file behind it. The item ends when the
    last chunk has gone out, or fails with the reason when the stream breaks."""
    cp_attachment_check_present(attachment=attachment)
    params = DownloadParams(work_order_id=attachment.work_order.work_order_id)
    job = cp_job_create(
        operation=Operation.CP_DOWNLOAD,
        params=params,
        item=attachment.attachment_id,
        triggered_by=triggered_by,
        enqueue=False,
    )
    recorder = ExchangeRecorder(job=job)
    client = cp_client(recorder=recorder)
    item = next(job_claim_each(job=job))
    recorder.about(item=item.item, destination=item.destination)

    def open_file() -> requests.Response:
        url = client.download_url(work_order_id=attachment.work_order.work_order_id, attachment_id=item.item)
        return client.open_download(url)

    response = provider_call(job, [item], open_file)
    if response is None:
        job_refresh_status(job=job)
        raise DownloadFailed(job, item.message)

    def chunks() -> Generator[bytes, None, None]:
        sent = 0
        try:
            for chunk in client.iter_file(response):
                sent += len(chunk)
                yield chunk
        except BaseException as exc:  # GeneratorExit too: the person downloading went away
            item_finish(
                item=item,
                job=job,
                succeeded=False,
                failure_class=FailureClass.CONNECTION,
                message=f"the download stopped after {sent} bytes: {type(exc).__name__}",
            )
            job_refresh_status(job=job)
            raise
        item_finish(item=item, job=job, succeeded=True, http_status=200, message=f"{sent} bytes downloaded")
        job_refresh_status(job=job)

    size = response.headers.get("Content-Length")
    return Download(
        job=job,
        filename=attachment.name or f"{attachment.attachment_id}.bin",
        mime_type=attachment.mime_type or "application/octet-stream",
        size=int(size) if size and size.isdigit() else None,
        chunks=chunks(),
    )
