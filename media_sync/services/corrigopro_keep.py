"""CorrigoPro evidence kept: our own copy of each attachment, so what a customer sent stays when they
delete it at CorrigoPro (`CORRIGOPRO_KEEP_FILES`, on by default).

A keep job (`cp_keep`: one item per attachment, its destination the work order) is started by the webhook
processing and by a refresh; its worker asks for a fresh 15-minute link per attachment (never stored) and
streams the file to a temporary file, hashed as it comes. Only a whole file within CorrigoPro's 20 MB limit
reaches media storage. An attachment we uploaded ourselves is linked to the file we sent, not downloaded.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from integrations.corrigopro.client import CorrigoProClient
from integrations.corrigopro.rules import MAX_FILE_SIZE
from integrations.errors import FailureClass, ProviderError
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoAttachment,
    CorrigoWorkOrder,
    MediaFile,
    Operation,
    Outcome,
    Provider,
    ThumbnailStatus,
    TransferItem,
    TransferJob,
)
from media_sync.services import thumbnails
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim_each
from media_sync.services.corrigopro import WorkOrderParams, cp_client
from media_sync.services.items import item_finish, provider_call
from media_sync.services.jobs import job_create
from media_sync.services.media import media_sniff_mime
from media_sync.services.refusals import InputRefused

# Who a kept copy's MediaFile says it came from.
KEPT_BY = "corrigopro (kept copy)"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"\\/]")


class KeepParams(WorkOrderParams):
    """cp_keep: nothing more; each item is an attachment id, its destination the work order id."""


def cp_keep_start(
    *,
    work_order: CorrigoWorkOrder,
    triggered_by: str,
    attachment_ids: Iterable[str] | None = None,
    enqueue: bool = True,
) -> TransferJob | None:
    """Queue a copy of the work order's attachments (of those named, if given) that we do not hold yet:
    one job for all of them, queued once the caller's writes commit. None when the setting is off or
    nothing is left to keep: already kept, removed, already queued, or refused once as too large (an
    attachment's file never changes, so it would be refused again)."""
    if not settings.CORRIGOPRO_KEEP_FILES:
        return None
    wanted = (
        work_order.attachments.filter(kept_file__isnull=True, removed_at__isnull=True)
        .exclude(attachment_id__in=thumbnails.cp_being_kept())
        .exclude(size__gt=MAX_FILE_SIZE, keep_error__gt="")
    )
    if attachment_ids is not None:
        wanted = wanted.filter(attachment_id__in=list(attachment_ids))
    ids = list(wanted.order_by("pk").values_list("attachment_id", flat=True))
    if not ids:
        return None
    work_order_id = work_order.work_order_id
    return job_create(
        provider=Provider.CORRIGOPRO,
        operation=Operation.CP_KEEP,
        subject=f"work order {work_order_id}",
        triggered_by=triggered_by,
        items=[(attachment_id, str(work_order_id)) for attachment_id in ids],
        params=KeepParams(work_order_id=work_order_id),
        enqueue=enqueue,
    )


def cp_keep_link_upload(*, attachment_id: str, media: MediaFile) -> None:
    """An attachment we uploaded: the file we sent is our copy already, nothing is downloaded."""
    if settings.CORRIGOPRO_KEEP_FILES:
        CorrigoAttachment.objects.filter(attachment_id=attachment_id, kept_file__isnull=True).update(
            kept_file=media, kept_at=timezone.now(), keep_error=""
        )


def audit_record_removed(
    *, job: TransferJob, work_order_id: int, attachments: list[CorrigoAttachment]
) -> None:
    """A refresh no longer lists these attachments: one row each, so each one's timeline shows it."""
    for attachment in attachments:
        kept = "our copy stays" if attachment.kept_file_id else "no copy of ours was made"
        AuditEvent.objects.create(
            kind=AuditKind.MIRROR,
            provider=Provider.CORRIGOPRO,
            operation=Operation.CP_SYNC,
            job=job,
            subject=f"work order {work_order_id}",
            item=attachment.attachment_id,
            destination=str(work_order_id),
            outcome=Outcome.SUCCEEDED,
            provider_status="removed",
            message=f"no longer listed by CorrigoPro: marked removed; {kept}",
            triggered_by=job.triggered_by,
        )


# --- The worker ----------------------------------------------------------------------------------------


class _Copy:
    """The temporary file one download is written to, hashed as it comes; started over per attempt."""

    def __init__(self, fileobj: IO[bytes]) -> None:
        self.fileobj = fileobj
        self.digest = hashlib.sha256()

    def start(self) -> Callable[[bytes], object]:
        self.fileobj.seek(0)
        self.fileobj.truncate()
        self.digest = hashlib.sha256()

        def write(chunk: bytes) -> None:
            self.digest.update(chunk)
            self.fileobj.write(chunk)

        return write


def safe_filename(attachment: CorrigoAttachment) -> str:
    """The customer's file name without any directory, control character or quote; else the id."""
    name = PurePosixPath(attachment.name.replace("\\", "/")).name
    name = _UNSAFE.sub("_", name).strip().lstrip(".")[-150:]
    return name or f"{attachment.attachment_id}.bin"


def _refused(attachment: CorrigoAttachment | None) -> tuple[str, str] | None:
    """Why nothing is downloaded for this item, and its failure class; None to go on."""
    if attachment is None:
        return "the attachment is no longer in our mirror", FailureClass.INVALID_INPUT
    if not settings.CORRIGOPRO_KEEP_FILES:
        return "CORRIGOPRO_KEEP_FILES is off: no copy is made", FailureClass.INVALID_INPUT
    if attachment.removed_at:
        return (
            "the customer removed it at CorrigoPro before our copy was made: nothing is left to download",
            FailureClass.INVALID_INPUT,
        )
    if attachment.size and attachment.size > MAX_FILE_SIZE:
        return (
            f"the file is {attachment.size / 1048576:.1f} MB, over CorrigoPro's documented limit of "
            f"{MAX_FILE_SIZE / 1048576:.0f} MB: not downloaded, no copy kept",
            FailureClass.TOO_LARGE,
        )
    return None


def _store(fileobj: IO[bytes], attachment: CorrigoAttachment, *, size: int, sha256: str) -> MediaFile:
    fileobj.seek(0)
    try:
        sniffed = media_sniff_mime(fileobj)
    except InputRefused:
        sniffed = None
    name = safe_filename(attachment)
    mime = sniffed or attachment.mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    source = File(fileobj, name=name)
    source.content_type = mime  # type: ignore[attr-defined]  # S3 keeps it as the object's Content-Type
    media = MediaFile(original_name=name, size=size, sha256=sha256, mime_type=mime, uploaded_by=KEPT_BY)
    media.file.save(f"kept-{attachment.attachment_id[:8]}-{name}", source, save=False)
    media.save()
    return media


def _failed(job: TransferJob, item: TransferItem, *, message: str = "", failure_class: str = "") -> None:
    """The item ends failed (unless provider_call ended it already), the reason goes on the attachment's
    "our copy", and a thumbnail that waited for our copy is fetched from CorrigoPro instead."""
    if message:
        item_finish(item=item, job=job, succeeded=False, failure_class=failure_class, message=message)
    CorrigoAttachment.objects.filter(attachment_id=item.item).update(keep_error=item.message[:1000])
    thumbnails.thumbnails_enqueue(provider=Provider.CORRIGOPRO, parent_id=int(item.destination))


def _keep_one(job: TransferJob, client: CorrigoProClient, item: TransferItem) -> None:
    attachment = CorrigoAttachment.objects.filter(attachment_id=item.item).first()
    if attachment is not None and attachment.kept_file_id:
        item_finish(item=item, job=job, succeeded=True, message="our copy was already kept")
        return
    refusal = _refused(attachment)
    if refusal is not None or attachment is None:
        message, failure_class = refusal or ("", "")
        _failed(job, item, message=message, failure_class=failure_class)
        return
    with tempfile.NamedTemporaryFile(prefix="cp-keep-", suffix=".part") as part:
        copy = _Copy(part)

        def download() -> int:
            # The link is valid 15 minutes and never stored: asked for right before its one use.
            try:
                url = client.download_url(work_order_id=int(item.destination), attachment_id=item.item)
                return client.save_file(
                    url, max_bytes=MAX_FILE_SIZE, expected_size=attachment.size or None, start=copy.start
                )
            except ProviderError as error:
                error.unconfirmed = False  # a download changes nothing at CorrigoPro: nothing to look up
                raise

        size = provider_call(job, [item], download)
        if size is None:
            _failed(job, item)
            return
        part.flush()
        sha256 = copy.digest.hexdigest()
        media = _store(part, attachment, size=size, sha256=sha256)
    with transaction.atomic():
        linked = CorrigoAttachment.objects.filter(pk=attachment.pk, kept_file__isnull=True).update(
            kept_file=media, kept_at=timezone.now(), keep_error=""
        )
        if not linked:  # another job (a retry of an older one) kept it meanwhile: one copy is enough
            media.file.delete(save=False)
            media.delete()
        item_finish(
            item=item,
            job=job,
            succeeded=True,
            http_status=200,
            reference=sha256,
            message=f"our copy kept: {size} bytes, SHA-256 {sha256}"
            if linked
            else "our copy was already kept",
        )
    if not linked:
        return
    attachment.kept_file = media
    if attachment.thumbnail_status in (ThumbnailStatus.PENDING, ThumbnailStatus.FAILED):
        thumbnails.thumbnails_from_copy(attachment)


def _run_keep(job: TransferJob) -> None:
    recorder = ExchangeRecorder(job=job)
    client = cp_client(recorder=recorder)
    for item in job_claim_each(job=job):
        recorder.about(item=item.item, destination=item.destination)
        _keep_one(job, client, item)


RUNNERS: dict[str, Callable[[TransferJob], None]] = {Operation.CP_KEEP: _run_keep}


# --- Reading our copy ----------------------------------------------------------------------------------


class KeptCopyUnreadable(Exception):
    """Our copy is recorded but storage could not open it: in the audit, as a failed download."""


@dataclass
class KeptCopy:
    fileobj: IO[bytes]
    filename: str
    mime_type: str
    size: int


def cp_kept_open(*, attachment: CorrigoAttachment, triggered_by: str, path: str) -> KeptCopy:
    """Open our copy for someone who may read it; who read which evidence is in the audit."""
    media = attachment.kept_file
    if media is None or not media.file:
        raise InputRefused(f"no copy of attachment {attachment.attachment_id} is kept")
    work_order_id = attachment.work_order.work_order_id
    try:
        fileobj = media.file.storage.open(media.file.name, "rb")
        outcome, message = Outcome.SUCCEEDED, f"our copy of {safe_filename(attachment)!r} downloaded"
    except OSError as error:
        outcome, message = Outcome.FAILED, f"our copy could not be read: {type(error).__name__}"
    removed = (
        f", removed at CorrigoPro {attachment.removed_at:%Y-%m-%d %H:%M}" if attachment.removed_at else ""
    )
    AuditEvent.objects.create(
        kind=AuditKind.ACCESS,
        provider=Provider.CORRIGOPRO,
        operation=Operation.CP_KEPT_DOWNLOAD,
        subject=f"work order {work_order_id}",
        item=attachment.attachment_id,
        destination=str(work_order_id),
        outcome=outcome,
        reference=media.sha256,
        message=f"{message} ({media.size} bytes, SHA-256 {media.sha256}{removed})",
        triggered_by=triggered_by,
        method="GET",
        path=path[:300],
    )
    if outcome == Outcome.FAILED:
        raise KeptCopyUnreadable(message)
    return KeptCopy(fileobj, safe_filename(attachment), media.mime_type, media.size)
