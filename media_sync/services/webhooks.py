"""Provider webhooks: authenticate, store once per MessageId, answer at once, process in a task."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from integrations.corrigopro.webhook_auth import WebhookAuthError, verify_token
from integrations.corrigopro.webhooks import (
    AttachmentAdded,
    AttachmentRemoved,
    Event,
    MalformedWebhook,
    NewWorkOrder,
    WebhookAttachment,
    named_attachment,
    parse_delivery,
    parse_event,
)
from integrations.errors import FailureClass
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoAttachment,
    CorrigoWorkOrder,
    Operation,
    Outcome,
    Provider,
    WebhookDelivery,
    WebhookStatus,
)
from media_sync.services import thumbnails
from media_sync.services.corrigopro_keep import cp_keep_start

logger = logging.getLogger(__name__)

PROCESS_TASK = "media_sync.tasks.process_webhook"
WEBHOOK_USER = "corrigopro webhook"


# An event type shown in an audit row: a name, never whatever else the sender put in the header.
EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,59}")


def _event_named(event: str) -> str:
    return f"event type {event!r}" if EVENT_NAME.fullmatch(event) else "event type not a name"


def _audit(
    *,
    event: str,
    outcome: str,
    http_status: int,
    message: str,
    delivery: WebhookDelivery | None = None,
    failure_class: str = "",
    provider_status: str = "",
) -> None:
    operation = f"webhook_{event}"
    known = operation in Operation.values
    AuditEvent.objects.create(
        kind=AuditKind.WEBHOOK,
        provider=Provider.CORRIGOPRO,
        operation=operation if known else Operation.WEBHOOK_OTHER,
        subject=f"work order {delivery.work_order_id}" if delivery and delivery.work_order_id else "",
        item=named_attachment(delivery.body)[:100] if delivery else "",
        outcome=outcome,
        provider_status=provider_status,
        http_status=http_status,
        failure_class=failure_class,
        message=message if known or not event else f"{message} ({_event_named(event)})",
        reference=delivery.message_id[:100] if delivery else "",
        triggered_by=WEBHOOK_USER,
        method="POST",
        path="/webhooks/corrigopro/",
    )


def webhook_corrigopro_receive(*, authorization: str | None, event_type: str, body: bytes) -> tuple[int, str]:
    """Check the bearer token against the configured certificate, then store the delivery once.

    Returns the HTTP status and a short word for the answer. Every refusal is in the audit.
    """
    event_type = event_type[:60]
    config = settings.CORRIGOPRO
    try:
        certificate = Path(config["WEBHOOK_CERTIFICATE"]).read_bytes()
        verify_token(
            authorization, certificate_pem=certificate, audience=config["WEBHOOK_AUDIENCE"], now=time.time()
        )
    except WebhookAuthError as error:
        _audit(
            event=event_type,
            outcome=Outcome.FAILED,
            http_status=401,
            failure_class=FailureClass.AUTH,
            message=f"webhook refused: {error.reason}",
        )
        return 401, "unauthorized"
    except (OSError, ValueError):  # our configuration, not the caller: CorrigoPro will retry later
        logger.error("CorrigoPro webhook certificate %s cannot be used", config["WEBHOOK_CERTIFICATE"])
        _audit(
            event=event_type,
            outcome=Outcome.FAILED,
            http_status=503,
            failure_class=FailureClass.AUTH,
            message="webhook refused: the configured certificate cannot be read",
        )
        return 503, "not configured"
    try:
        received = parse_delivery(body)
    except MalformedWebhook as error:
        _audit(
            event=event_type,
            outcome=Outcome.FAILED,
            http_status=400,
            failure_class=FailureClass.PARSE,
            message=f"webhook refused: {error}",
        )
        return 400, "bad request"
    header = received.header
    event = (header.action or event_type)[:60]
    with transaction.atomic():
        delivery, created = WebhookDelivery.objects.get_or_create(
            provider=Provider.CORRIGOPRO,
            message_id=header.message_id[:100],
            defaults={"event_type": event, "work_order_id": header.work_order_id, "body": received.body},
        )
        if not created:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(deliveries=F("deliveries") + 1)
            _audit(
                event=event,
                delivery=delivery,
                outcome=Outcome.SUCCEEDED,
                http_status=200,
                provider_status="duplicate",
                message="delivered again: already stored, nothing done twice",
            )
            if delivery.status == WebhookStatus.RECEIVED:
                # Stored before but never processed (the queue lost it): this delivery is the nudge.
                transaction.on_commit(partial(_enqueue, delivery.pk))
            return 200, "duplicate"
        _audit(
            event=event,
            delivery=delivery,
            outcome=Outcome.PENDING,
            http_status=200,
            provider_status="received",
            message="stored; processing queued",
        )
        transaction.on_commit(partial(_enqueue, delivery.pk))
    return 200, "accepted"


def webhook_corrigopro_refuse_unread(*, event_type: str, length: str) -> None:
    """A body over the limit, or of no stated length, is refused before it is read: audited all the same."""
    size = f"{length} bytes" if length.isdigit() else "no Content-Length"
    _audit(
        event=event_type[:60],
        outcome=Outcome.FAILED,
        http_status=413,
        failure_class=FailureClass.TOO_LARGE,
        message=f"webhook refused unread: {size}; the limit is {settings.WEBHOOK_MAX_BYTES} bytes",
    )


def _enqueue(delivery_pk: int) -> None:
    async_task(PROCESS_TASK, delivery_pk, task_name=f"webhook-{delivery_pk}")


def webhooks_sweep_received(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Deliveries stored but never processed (a lost queue message) are queued again."""
    stuck = WebhookDelivery.objects.filter(
        status=WebhookStatus.RECEIVED, received_at__lt=timezone.now() - older_than
    )
    pks = list(stuck.values_list("pk", flat=True)[:1000])
    for pk in pks:
        _enqueue(pk)
    return len(pks)


# --- Processing (in a worker) ------------------------------------------------------------------------


def _work_order(delivery: WebhookDelivery) -> CorrigoWorkOrder:
    if delivery.work_order_id is None:
        raise ValueError("the delivery names no WorkOrderId")
    work_order, _ = CorrigoWorkOrder.objects.get_or_create(work_order_id=delivery.work_order_id)
    return work_order


def _attachment_added(delivery: WebhookDelivery, attachment: WebhookAttachment) -> str:
    attachment_id = attachment.attachment_id
    stored, created = CorrigoAttachment.objects.get_or_create(
        attachment_id=attachment_id,
        defaults={
            "work_order": _work_order(delivery),
            "name": attachment.name[:255],
            "mime_type": attachment.mime_type[:100],
            "document_type": attachment.subtype[:30],
            "size": attachment.size,
            "added_by": "customer",
            "thumbnail_status": thumbnails.picture_status(
                mime_type=attachment.mime_type, name=attachment.name
            ),
        },
    )
    if stored.removed_at:
        return f"attachment {attachment_id} was already removed: left removed"

    return f"attachment {attachment_id} added" if created else f"attachment {attachment_id} already known"


def _keep_and_thumbnail(delivery: WebhookDelivery, attachment_ids: list[str]) -> None:
    # Once per delivery, after its attachments are stored: one job keeps our copy of them all (and makes
    # their thumbnails from it); the thumbnail task does every other pending one.
    if delivery.work_order_id is None:
        return
    if attachment_ids:
        cp_keep_start(
            work_order=_work_order(delivery), attachment_ids=attachment_ids, triggered_by=WEBHOOK_USER
        )
    thumbnails.thumbnails_enqueue(provider=Provider.CORRIGOPRO, parent_id=delivery.work_order_id)


def _attachment_removed(delivery: WebhookDelivery, attachment_id: str) -> str:
    # Out of order (removed before added) leaves a marked row, so the late 'added' cannot revive it.
    stored, _ = CorrigoAttachment.objects.get_or_create(
        attachment_id=attachment_id, defaults={"work_order": _work_order(delivery), "added_by": "customer"}
    )
    if stored.removed_at:
        return f"attachment {attachment_id} already removed"
    CorrigoAttachment.objects.filter(pk=stored.pk).update(removed_at=timezone.now())
    kept = "our copy stays" if stored.kept_file_id else "no copy of ours was made"
    return f"attachment {attachment_id} removed by the customer; {kept}"


def _new_work_order(delivery: WebhookDelivery, event: NewWorkOrder) -> str:
    work_order = _work_order(delivery)
    if event.status:
        CorrigoWorkOrder.objects.filter(pk=work_order.pk).update(status=event.status[:30])
    for attachment in event.attachments:
        _attachment_added(delivery, attachment)
    _keep_and_thumbnail(delivery, [attachment.attachment_id for attachment in event.attachments])
    return f"work order {work_order.work_order_id} received with {len(event.attachments)} attachment(s)"


def _apply(delivery: WebhookDelivery, event: Event) -> str:
    if isinstance(event, AttachmentAdded):
        message = _attachment_added(delivery, event.attachment)
        _keep_and_thumbnail(delivery, [event.attachment.attachment_id])
        return message
    if isinstance(event, AttachmentRemoved):
        return _attachment_removed(delivery, event.attachment_id)
    return _new_work_order(delivery, event)


def webhook_process(*, delivery_id: int) -> None:
    """Apply a stored delivery once. Unknown events stay stored and are marked, never lost."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status != WebhookStatus.RECEIVED:
            return
        try:
            with transaction.atomic():
                event = parse_event(delivery.event_type, delivery.body)
                if event is None:
                    status, outcome, message = (
                        WebhookStatus.IGNORED,
                        Outcome.SUCCEEDED,
                        "unknown event type: stored",
                    )
                else:
                    status, outcome, message = (
                        WebhookStatus.PROCESSED,
                        Outcome.SUCCEEDED,
                        _apply(delivery, event),
                    )
        # MalformedWebhook is a ValueError. The rest (a mistake of ours, a refusal by the database) mark the
        # delivery failed too, where a raised error would leave it received, queued again by every sweep.
        except (KeyError, ValueError, TypeError, AttributeError, DatabaseError) as exc:
            status, outcome, message = WebhookStatus.FAILED, Outcome.FAILED, f"could not apply: {exc!r}"
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=status, processed_at=timezone.now(), error=message if outcome == Outcome.FAILED else ""
        )
        _audit(
            event=delivery.event_type,
            delivery=delivery,
            outcome=outcome,
            http_status=200,
            provider_status=status,
            message=message,
            failure_class=FailureClass.PARSE if outcome == Outcome.FAILED else "",
        )
