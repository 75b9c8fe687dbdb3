"""CorrigoPro writes: refresh, upload, change, delete and download attachments, and the worker runners."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import partial
from typing import IO, cast

import requests
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from integrations.corrigopro.client import CorrigoProClient, new_message_id
from integrations.corrigopro.schemas import (
    CLOSED_STATUSES,
    DOCUMENT_TYPES,
    MAX_FILE_SIZE,
    MAX_PERFORMED_BY,
    VISIBILITIES,
    Attachment,
)
from media_sync.models import (
    CorrigoAttachment,
    CorrigoWorkOrder,
    ItemStatus,
    MediaFile,
    Provider,
    ThumbnailStatus,
    TransferItem,
    TransferJob,
)
from media_sync.selectors import cp_uploads_of_file
from media_sync.services import thumbnails
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim_each
from media_sync.services.items import item_finish, provider_call
from media_sync.services.jobs import job_create, job_refresh_status
from media_sync.services.media import media_check, media_file_store, media_sha256
from media_sync.services.providers import retry_policy
from media_sync.services.refusals import InputRefused
from media_sync.services.throttle import provider_slot

SYNC = "cp_sync"
UPLOAD = "cp_upload"
UPDATE = "cp_update"
DELETE = "cp_delete"
DOWNLOAD = "cp_download"
# What CorrigoPro's error codes tell us about the work order, when our mirror said otherwise.
STATUS_FROM_CODE = {"3001": "Rejected", "3005": "Recalled"}


def cp_client(*, recorder: ExchangeRecorder) -> CorrigoProClient:
    config = settings.CORRIGOPRO
    return CorrigoProClient(
        base_url=config["BASE_URL"],
        token_url=config["TOKEN_URL"],
        client_id=config["CLIENT_ID"],
        client_secret=config["CLIENT_SECRET"],
        timeout=settings.MEDIA_SYNC_HTTP_TIMEOUT,
        retry=retry_policy(),
        on_exchange=recorder,
        gate=partial(provider_slot, "corrigopro"),
    )


# CorrigoPro wants the "name with the extension of the file": a dot in a directory part is no extension.
NAME_WITH_EXTENSION = re.compile(r".+\.[A-Za-z0-9]{1,10}")


def _check_metadata(*, name: str, document_type: str, visibility: str) -> None:
    if not NAME_WITH_EXTENSION.fullmatch(name):
        raise InputRefused(f"the name {name!r} needs a file extension (e.g. .jpg, .pdf)")
    if document_type and document_type not in DOCUMENT_TYPES:
        raise InputRefused(f"document type {document_type!r} is not one of {', '.join(DOCUMENT_TYPES)}")
    if visibility and visibility not in VISIBILITIES:
        raise InputRefused(f"visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")


def _job(
    operation: str, work_order_id: int, item: str, triggered_by: str, enqueue: bool, **params: object
) -> TransferJob:
    return job_create(
        provider=Provider.CORRIGOPRO,
        operation=operation,
        subject=f"work order {work_order_id}",
        triggered_by=triggered_by,
        items=[(item, str(work_order_id))],
        params={"work_order_id": work_order_id, **params},
        enqueue=enqueue,
    )


# --- Starting jobs ----------------------------------------------------------------------------------


def cp_sync_start(*, work_order_ids: list[int], triggered_by: str, enqueue: bool = True) -> TransferJob:
    """List each work order's attachments and mirror them (one item per work order)."""
    return job_create(
        provider=Provider.CORRIGOPRO,
        operation=SYNC,
        subject=", ".join(f"work order {wo}" for wo in work_order_ids),
        triggered_by=triggered_by,
        items=[(str(wo), "") for wo in work_order_ids],
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
    return _job(
        UPLOAD,
        work_order.work_order_id,
        name,
        triggered_by,
        enqueue,
        media_file_id=media.pk,
        document_type=document_type,
        visibility=visibility,
        performed_by=performed_by,
        performed_by_phone=performed_by_phone,
    )


def _live(attachment: CorrigoAttachment) -> None:
    if attachment.removed_at:
        raise InputRefused(f"attachment {attachment.attachment_id} was already removed")


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
    _live(attachment)
    _check_metadata(name=name, document_type=document_type, visibility=visibility)
    return _job(
        UPDATE,
        attachment.work_order.work_order_id,
        attachment.attachment_id,
        triggered_by,
        enqueue,
        name=name,
        document_type=document_type,
        visibility=visibility,
    )


def cp_delete_start(*, attachment: CorrigoAttachment, triggered_by: str, enqueue: bool = True) -> TransferJob:
    _live(attachment)
    return _job(DELETE, attachment.work_order.work_order_id, attachment.attachment_id, triggered_by, enqueue)


# --- Running jobs -----------------------------------------------------------------------------------


def _mirror_status_from(job: TransferJob, item: TransferItem) -> None:
    """An upload refused with 3001/3005 means our status for the work order was stale: mark it so the
    next upload is refused here, with the reason. Only for uploads (the rule is about uploads), and
    only for a work order we already mirror."""
    status = STATUS_FROM_CODE.get(item.error_code) if item.status == ItemStatus.FAILED else None
    if status and job.operation == UPLOAD:
        CorrigoWorkOrder.objects.filter(work_order_id=int(item.destination)).update(status=status)


def _run_each(job: TransferJob, work: Callable[[CorrigoProClient, TransferItem], None]) -> None:
    recorder = ExchangeRecorder(job=job)
    client = cp_client(recorder=recorder)
    for item in job_claim_each(job=job):
        recorder.about(item=item.item, destination=item.destination)
        work(client, item)
        _mirror_status_from(job, item)


def _sync_one(job: TransferJob, client: CorrigoProClient, item: TransferItem) -> None:
    work_order_id = int(item.item)
    attachments = provider_call(job, [item], partial(client.list_attachments, work_order_id=work_order_id))
    if attachments is None:
        return
    now = timezone.now()
    with transaction.atomic():
        work_order, _ = CorrigoWorkOrder.objects.get_or_create(work_order_id=work_order_id)
        listed = {attachment.id for attachment in attachments}
        gone = work_order.attachments.filter(removed_at__isnull=True).exclude(attachment_id__in=listed)
        removed = gone.update(removed_at=now)
        new = sum(_mirror_attachment(work_order, attachment, now) for attachment in attachments)
        work_order.attachments_synced_at = now
        work_order.save(update_fields=["attachments_synced_at"])
        work_order.attachments.filter(thumbnail_status=ThumbnailStatus.FAILED).update(
            thumbnail_status=ThumbnailStatus.PENDING
        )
        thumbnails.thumbnails_enqueue(provider=Provider.CORRIGOPRO, parent_id=work_order_id)
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
    params = job.params
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
                "visibility": params.get("visibility", "") or "All",
                "size": media.size,
                "performed_by": params["performed_by"],
                "added_by": "us",
                "thumbnail_status": thumbnails.picture_status(mime_type=media.mime_type, name=item.item),
            },
        )
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
    params = job.params
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
    changes.update({key: params[key] for key in ("document_type", "visibility") if params.get(key)})
    with transaction.atomic():
        CorrigoAttachment.objects.filter(attachment_id=item.item).update(**changes)
        item_finish(
            item=item, job=job, succeeded=True, http_status=200, reference=message_id, message="changed"
        )


def _delete_one(job: TransferJob, client: CorrigoProClient, item: TransferItem) -> None:
    params = job.params
    call = partial(
        client.delete_attachment,
        work_order_id=params["work_order_id"],
        attachment_id=item.item,
        message_id=new_message_id(),
    )
    message_id = provider_call(job, [item], call)
    if message_id is None:
        if item.error_code == "3003":  # CorrigoPro no longer has it: neither should we
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
        item=item, job=job, succeeded=False, failure_class="connection", message="the download was cut off"
    )


RUNNERS: dict[str, Callable[[TransferJob], None]] = {
    SYNC: _run(_sync_one),
    UPLOAD: _run(_upload_one),
    UPDATE: _run(_update_one),
    DELETE: _run(_delete_one),
    DOWNLOAD: _run(_interrupted_download),
}


# --- Downloads: in the request, streamed to whoever asked --------------------------------------------


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
    _live(attachment)
    job = _job(DOWNLOAD, attachment.work_order.work_order_id, attachment.attachment_id, triggered_by, False)
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
                failure_class="connection",
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
