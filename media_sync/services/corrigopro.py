"""CorrigoPro jobs asked for: the checks CorrigoPro would make, the job and its params, and the client.

The worker runs them in `corrigopro_runners.py`; a download runs in the request, in `corrigopro_download.py`.
"""

from __future__ import annotations

from typing import TypedDict

from django.conf import settings
from django.core.files import File

from integrations.corrigopro.client import CorrigoProClient
from integrations.corrigopro.rules import CLOSED_STATUSES, MAX_FILE_SIZE, MAX_PERFORMED_BY, metadata_problem
from media_sync.models import CorrigoAttachment, CorrigoWorkOrder, Operation, Provider, TransferJob
from media_sync.selectors import cp_uploads_of_file
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.jobs import job_create
from media_sync.services.media import media_check, media_file_store, media_sha256
from media_sync.services.providers import provider_transport
from media_sync.services.refusals import InputRefused


def cp_client(*, recorder: ExchangeRecorder) -> CorrigoProClient:
    config = settings.CORRIGOPRO
    return CorrigoProClient(
        base_url=config["BASE_URL"],
        token_url=config["TOKEN_URL"],
        client_id=config["CLIENT_ID"],
        client_secret=config["CLIENT_SECRET"],
        **provider_transport(Provider.CORRIGOPRO, recorder=recorder),
    )


# --- Job params: what a job keeps for its runner (TransferJob.params), one shape per operation -------


class SyncParams(TypedDict):
    """cp_sync keeps nothing: each of its items names a work order."""


class WorkOrderParams(TypedDict):
    """What every job on one attachment keeps: the work order the attachment hangs on."""

    work_order_id: int


class UploadParams(WorkOrderParams):
    """cp_upload: the stored file and the fields sent with it; the item is the attachment's name. The
    pre-flight (`selectors.cp_uploads_of_file`) and retention query `work_order_id` and `media_file_id`
    by name."""

    media_file_id: int
    document_type: str
    visibility: str
    performed_by: str
    performed_by_phone: str


class UpdateParams(WorkOrderParams):
    """cp_update: the new metadata; the item is the attachment id."""

    name: str
    document_type: str
    visibility: str


class DeleteParams(WorkOrderParams):
    """cp_delete: nothing more; the item is the attachment id."""


def _check_metadata(*, name: str, document_type: str, visibility: str) -> None:
    problem = metadata_problem(name=name, document_type=document_type, visibility=visibility)
    if problem:
        raise InputRefused(problem)


def cp_attachment_check_present(*, attachment: CorrigoAttachment) -> None:
    """Refuse an attachment our mirror knows as removed: nothing is left at CorrigoPro to act on."""
    if attachment.removed_at:
        raise InputRefused(f"attachment {attachment.attachment_id} was already removed")


def cp_job_create(
    *, operation: str, params: WorkOrderParams, item: str, triggered_by: str, enqueue: bool
) -> TransferJob:
    """A job of one item, on one attachment of the work order its params name."""
    work_order_id = params["work_order_id"]
    return job_create(
        provider=Provider.CORRIGOPRO,
        operation=operation,
        subject=f"work order {work_order_id}",
        triggered_by=triggered_by,
        items=[(item, str(work_order_id))],
        params=params,
        enqueue=enqueue,
    )


# --- Starting jobs ----------------------------------------------------------------------------------


def cp_sync_start(*, work_order_ids: list[int], triggered_by: str, enqueue: bool = True) -> TransferJob:
    """List each work order's attachments and mirror them (one item per work order)."""
    return job_create(
        provider=Provider.CORRIGOPRO,
        operation=Operation.CP_SYNC,
        subject=", ".join(f"work order {wo}" for wo in work_order_ids),
        triggered_by=triggered_by,
        items=[(str(wo), "") for wo in work_order_ids],
        params=SyncParams(),
        enqueue=enqueue,
    )


def cp_upload_start(
    *,
    work_order: CorrigoWorkOrder,
    source: File,
    name: str,
    performed_by: str,
    triggered_by: str,
    mime_type: str = "",
    document_type: str = "",
    visibility: str = "",
    performed_by_phone: str = "",
    enqueue: bool = True,
    again: bool = False,
) -> TransferJob:
    """Check the file and the fields as CorrigoPro would, store the file, and queue its upload. A file
    whose bytes we already attached to this work order is refused unless asked `again`."""
    if work_order.status in CLOSED_STATUSES:
        raise InputRefused(
            f"work order {work_order.work_order_id} is {work_order.status}: CorrigoPro takes no uploads"
        )
    performed_by = performed_by.strip()
    if not performed_by:
        raise InputRefused("say who performed the work (PerformedBy.Name)")
    if len(performed_by) > MAX_PERFORMED_BY:
        raise InputRefused(
            f"PerformedBy.Name is {len(performed_by)} characters; CorrigoPro allows {MAX_PERFORMED_BY}"
        )
    _check_metadata(name=name, document_type=document_type, visibility=visibility)
    with source.open("rb") as fileobj:
        mime = media_check(
            name=name, size=source.size, fileobj=fileobj, declared_mime=mime_type, max_size=MAX_FILE_SIZE
        )
        done = (
            []
            if again
            else cp_uploads_of_file(work_order_id=work_order.work_order_id, sha256=media_sha256(source))
        )
        if done:
            raise InputRefused(
                f"this file is already attached to work order {work_order.work_order_id}: uploaded "
                f"{done[-1]}; ask to upload it anyway to send it again"
            )
        media = media_file_store(source=source, name=name, mime_type=mime, uploaded_by=triggered_by)
    params = UploadParams(
        work_order_id=work_order.work_order_id,
        media_file_id=media.pk,
        document_type=document_type,
        visibility=visibility,
        performed_by=performed_by,
        performed_by_phone=performed_by_phone,
    )
    return cp_job_create(
        operation=Operation.CP_UPLOAD, params=params, item=name, triggered_by=triggered_by, enqueue=enqueue
    )


def cp_update_start(
    *,
    attachment: CorrigoAttachment,
    name: str,
    triggered_by: str,
    document_type: str = "",
    visibility: str = "",
    enqueue: bool = True,
) -> TransferJob:
    """Change an attachment's name, type or visibility (the file itself cannot be changed)."""
    cp_attachment_check_present(attachment=attachment)
    _check_metadata(name=name, document_type=document_type, visibility=visibility)
    params = UpdateParams(
        work_order_id=attachment.work_order.work_order_id,
        name=name,
        document_type=document_type,
        visibility=visibility,
    )
    return cp_job_create(
        operation=Operation.CP_UPDATE,
        params=params,
        item=attachment.attachment_id,
        triggered_by=triggered_by,
        enqueue=enqueue,
    )


def cp_delete_start(*, attachment: CorrigoAttachment, triggered_by: str, enqueue: bool = True) -> TransferJob:
    cp_attachment_check_present(attachment=attachment)
    params = DeleteParams(work_order_id=attachment.work_order.work_order_id)
    return cp_job_create(
        operation=Operation.CP_DELETE,
        params=params,
        item=attachment.attachment_id,
        triggered_by=triggered_by,
        enqueue=enqueue,
    )
