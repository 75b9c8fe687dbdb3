"""CorrigoPro jobs run by the worker: refresh, upload, change and delete attachments (`RUNNERS`).

The jobs and their params are made in `corrigopro.py`; each runner reads its params as that module types them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import IO, cast

from django.db import transaction
from django.utils import timezone

from integrations.corrigopro.client import CorrigoProClient, new_message_id
from integrations.corrigopro.rules import DEFAULT_VISIBILITY, STATUS_FROM_CODE, UNKNOWN_ATTACHMENT
from integrations.corrigopro.schemas import Attachment
from integrations.errors import FailureClass
from media_sync.models import (
    CorrigoAttachment,
    CorrigoWorkOrder,
    ItemStatus,
    MediaFile,
    Operation,
    Provider,
    TransferItem,
    TransferJob,
)
from media_sync.services import thumbnails
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim_each
from media_sync.services.corrigopro import (
    DeleteParams,
    UpdateParams,
    UploadParams,
    cp_client,
)
from media_sync.services.corrigopro_keep import audit_record_removed, cp_keep_link_upload, cp_keep_start
from media_sync.services.items import item_finish, provider_call


def _mirror_status_from(job: TransferJob, item: TransferItem) -> None:
    """An upload refused with 3001/3005 means our status for the work order was stale: mark it so the
    next upload is refused here, with the reason. Only for uploads (the rule is about uploads), and
    only for a work order we already mirror."""
    status = STATUS_FROM_CODE.get(item.error_code) if item.status == ItemStatus.FAILED else None
    if status and job.operation == Operation.CP_UPLOAD:
        CorrigoWorkOrder.objects.filter(work_order_id=int(item.destination)).update(status=status)


def _run_each(job: TransferJob, work: Callable[[CorrigoProClient, TransferItem], None]) -> None:
    recorder = ExchangeRecorder(job=job)
    client = cp_client(recorder=recorder)
    for item in job_claim_each(job=job):
        recorder.about(item=item.item, destination=item.destination)
        work(client, item)
        _mirror_status_from(job, item)


def _sync_one(job: TransferJob, client: CorrigoProClient, item: TransferItem) -> None:
    # cp_sync reads no params (SyncParams is empty): the item names the work order.
    work_order_id = int(item.item)
    attachments = provider_call(job, [item], partial(client.list_attachments, work_order_id=work_order_id))
    if attachments is None:
        return
    now = timezone.now()
    with transaction.atomic():
        work_order, _ = CorrigoWorkOrder.objects.get_or_create(work_order_id=work_order_id)
        listed = {attachment.id for attachment in attachments}
        gone = work_order.attachments.filter(removed_at__isnull=True).exclude(attachment_id__in=listed)
        audit_record_removed(job=job, work_order_id=work_order_id, attachments=list(gone))
        removed = gone.update(removed_at=now)
        new = sum(_mirror_attachment(work_order, attachment, now) for attachment in attachments)
        work_order.attachments_synced_at = now
        work_order.save(update_fields=["attachments_synced_at"])
        # Those not kept yet (new ones, or an earlier copy that failed): one job for the work order.
        cp_keep_start(work_order=work_order, triggered_by=job.triggered_by)
        thumbnails.thumbnails_refresh(
            work_order.attachments.all(), provider=Provider.CORRIGOPRO, parent_id=work_order_id
        )
        item_finish(
            item=item,
            job=job,
            succeeded=True,
            http_status=200,
            message=f"{len(attachments)} attachments listed: {new} new, {removed} removed",
        )


def _mirror_attachment(work_order: CorrigoWorkOrder, attachment: Attachment, now: object) -> bool:
    defaults = {
        "work_order": work_order,
        "name": attachment.name,
        "mime_type": attachment.mime_type,
        "document_type": attachment.document_type,
        "visibility": attachment.visibility,
        "size": attachment.size,
        "performed_by": attachment.performed_by,
        "removed_at": None,
        "synced_at": now,
    }
    status = thumbnails.picture_status(mime_type=attachment.mime_type, name=attachment.name)
    _, created = CorrigoAttachment.objects.update_or_create(
        attachment_id=attachment.id,
        defaults=defaults,
        create_defaults={**defaults, "thumbnail_status": status},
    )
    return created


def _upload_one(job: TransferJob, client: CorrigoProClient, item: TransferItem) -> None:
    params = cast(UploadParams, job.params)
    media = MediaFile.objects.get(pk=params["media_file_id"])
    # CorrigoPro answers a repeated MessageId with the first upload's attachment and stores nothing: an
    # upload sent again after an unanswered call (a worker that died, a lost answer) keeps its MessageId,
    # so it cannot become a second attachment. It is written down before the call for that reason.
    if item.unconfirmed and item.reference:
        message_id = item.reference
    else:
        message_id = new_message_id()
        TransferItem.objects.filter(pk=item.pk).update(reference=message_id)
        item.reference = message_id

    def open_file() -> IO[bytes]:
        return cast(IO[bytes], media.file.storage.open(media.file.name, "rb"))

    uploaded = provider_call(
        job,
        [item],
        partial(
            client.upload_attachment,
            work_order_id=params["work_order_id"],
            open_file=open_file,
            size=media.size,
            name=item.item,
            mime_type=media.mime_type,
            performed_by=params["performed_by"],
            performed_by_phone=params.get("performed_by_phone", ""),
            document_type=params.get("document_type", ""),
            visibility=params.get("visibility", ""),
            message_id=message_id,
        ),
    )
    if uploaded is None:
        return
    with transaction.atomic():
        work_order, _ = CorrigoWorkOrder.objects.get_or_create(work_order_id=params["work_order_id"])
        CorrigoAttachment.objects.update_or_create(
            attachment_id=uploaded.attachment_id,
            defaults={
                "work_order": work_order,
                "name": item.item,
                "mime_type": media.mime_type,
                "document_type": params.get("document_type", ""),
                "visibility": params.get("visibility", "") or DEFAULT_VISIBILITY,
                "size": media.size,
                "performed_by": params["performed_by"],
                "added_by": "us",
                "thumbnail_status": thumbnails.picture_status(mime_type=media.mime_type, name=item.item),
            },
        )
        cp_keep_link_upload(attachment_id=uploaded.attachment_id, media=media)
        thumbnails.thumbnails_enqueue(provider=Provider.CORRIGOPRO, parent_id=params["work_order_id"])
        item_finish(
            item=item,
            job=job,
            succeeded=True,
            http_status=200,
            reference=uploaded.message_id or message_id,
            message=f"attachment {uploaded.attachment_id} added",
        )


def _update_one(job: TransferJob, client: CorrigoProClient, item: TransferItem) -> None:
    params = cast(UpdateParams, job.params)
    message_id = provider_call(
        job,
        [item],
        partial(
            client.update_attachment,
            work_order_id=params["work_order_id"],
            attachment_id=item.item,
            name=params["name"],
            document_type=params.get("document_type", ""),
            visibility=params.get("visibility", ""),
            message_id=new_message_id(),
        ),
    )
    if message_id is None:
        return
    changes = {"name": params["name"]}
    # An empty type or visibility is left out of the request, so the mirror keeps what it had.
    if params.get("document_type"):
        changes["document_type"] = params["document_type"]
    if params.get("visibility"):
        changes["visibility"] = params["visibility"]
    with transaction.atomic():
        CorrigoAttachment.objects.filter(attachment_id=item.item).update(**changes)
        item_finish(
            item=item, job=job, succeeded=True, http_status=200, reference=message_id, message="changed"
        )


def _delete_one(job: TransferJob, client: CorrigoProClient, item: TransferItem) -> None:
    params = cast(DeleteParams, job.params)
    call = partial(
        client.delete_attachment,
        work_order_id=params["work_order_id"],
        attachment_id=item.item,
        message_id=new_message_id(),
    )
    message_id = provider_call(job, [item], call)
    if message_id is None:
        if item.error_code == UNKNOWN_ATTACHMENT:  # CorrigoPro no longer has it: neither should we
            CorrigoAttachment.objects.filter(attachment_id=item.item).update(removed_at=timezone.now())
        return
    with transaction.atomic():
        CorrigoAttachment.objects.filter(attachment_id=item.item).update(removed_at=timezone.now())
        item_finish(
            item=item, job=job, succeeded=True, http_status=200, reference=message_id, message="deleted"
        )


def _run(
    work: Callable[[TransferJob, CorrigoProClient, TransferItem], None],
) -> Callable[[TransferJob], None]:
    return lambda job: _run_each(job, partial(work, job))


def _interrupted_download(job: TransferJob, client: CorrigoProClient, item: TransferItem) -> None:
    # Downloads run in the request that asked for them; one the sweep hands back was cut off.
    item_finish(
        item=item,
        job=job,
        succeeded=False,
        failure_class=FailureClass.CONNECTION,
        message="the download was cut off",
    )


RUNNERS: dict[str, Callable[[TransferJob], None]] = {
    Operation.CP_SYNC: _run(_sync_one),
    Operation.CP_UPLOAD: _run(_upload_one),
    Operation.CP_UPDATE: _run(_update_one),
    Operation.CP_DELETE: _run(_delete_one),
    Operation.CP_DOWNLOAD: _run(_interrupted_download),
}
