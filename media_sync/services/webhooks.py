"""Provider webhooks: authenticate, store once per MessageId, answer at once, process in a task."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from integrations.corrigopro.webhook_auth import WebhookAuthError, verify_token
from integrations.errors import FailureClass
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoAttachment,
    CorrigoWorkOrder,
    Outcome,
    Provider,
    WebhookDelivery,
    WebhookStatus,
)
from media_sync.services import thumbnails

logger = logging.getLogger(__name__)

PROCESS_TASK = "media_sync.tasks.process_webhook"
WEBHOOK_USER = "corrigopro webhook"


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
    body = delivery.body if delivery else {}
    AuditEvent.objects.create(
        kind=AuditKind.WEBHOOK,
        provider=Provider.CORRIGOPRO,
        operation=f"webhook_{event}"[:40] if event else "webhook",
        subject=f"work order {delivery.work_order_id}" if delivery and delivery.work_order_id else "",
        item=str(body.get("AttachmentId") or "")[:100],
        outcome=outcome,
        provider_status=provider_status,
        http_status=http_status,
        failure_class=failure_class,
        message=message,
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
        payload = json.loads(body)
        header = payload["Header"]
        message_id = str(header["MessageId"]).strip()
        if not message_id:
            raise ValueError("empty MessageId")
    except (ValueError, KeyError, TypeError) as exc:
        _audit(
            event=event_type,
            outcome=Outcome.FAILED,
            http_status=400,
            failure_class=FailureClass.PARSE,
            message=f"webhook refused: the body is not JSON with a Header.MessageId ({type(exc).__name__})",
        )
        return 400, "bad request"
    work_order_id = header.get("WorkOrderId")
    event = str(header.get("Action") or event_type)[:60]
    with transaction.atomic():
        delivery, created = WebhookDelivery.objects.get_or_create(
            provider=Provider.CORRIGOPRO,
            message_id=message_id[:100],
            defaults={
                "event_type": event,
                "work_order_id": work_order_id
                if isinstance(work_order_id, int) and work_order_id > 0
                else None,
                "body": payload,
            },
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


def _attachment_added(delivery: WebhookDelivery, attachment: dict[str, Any]) -> str:
    attachment_id = str(attachment["AttachmentId"])
    size = attachment.get("Size")
    stored, created = CorrigoAttachment.objects.get_or_create(
        attachment_id=attachment_id,
        defaults={
            "work_order": _work_order(delivery),
            "name": str(attachment.get("Name") or "")[:255],
            "mime_type": str(attachment.get("MimeType") or "")[:100],
            "document_type": str(attachment.get("Subtype") or "")[:30],
            "size": size if isinstance(size, int) and size >= 0 else None,
            "added_by": "customer",
            "thumbnail_status": thumbnails.picture_status(
                mime_type=str(attachment.get("MimeType") or ""), name=str(attachment.get("Name") or "")
            ),
        },
    )
    if stored.removed_at:
        return f"attachment {attachment_id} was already removed: left removed"

    return f"attachment {attachment_id} added" if created else f"attachment {attachment_id} already known"


def _on_attachment_added(delivery: WebhookDelivery) -> str:
    message = _attachment_added(delivery, delivery.body)
    _thumbnails(delivery)
    return message


def _thumbnails(delivery: WebhookDelivery) -> None:
    # Once per delivery, after its attachments are stored: the task thumbnails every pending one.
    if delivery.work_order_id is not None:
        thumbnails.thumbnails_enqueue(provider=Provider.CORRIGOPRO, parent_id=delivery.work_order_id)


def _on_attachment_removed(delivery: WebhookDelivery) -> str:
    attachment_id = str(delivery.body["AttachmentId"])
    # Out of order (removed before added) leaves a marked row, so the late 'added' cannot revive it.
    stored, _ = CorrigoAttachment.objects.get_or_create(
        attachment_id=attachment_id, defaults={"work_order": _work_order(delivery), "added_by": "customer"}
    )
    if stored.removed_at:
        return f"attachment {attachment_id} already removed"
    CorrigoAttachment.objects.filter(pk=stored.pk).update(removed_at=timezone.now())
    return f"attachment {attachment_id} removed by the customer"


def _on_new_work_order(delivery: WebhookDelivery) -> str:
    work_order = _work_order(delivery)
    status = (delivery.body.get("WorkOrder") or {}).get("Status")
    if isinstance(status, str) and status:
        CorrigoWorkOrder.objects.filter(pk=work_order.pk).update(status=status[:30])
    attachments = delivery.body.get("Attachments") or []
    for attachment in attachments:
        _attachment_added(delivery, attachment)
    _thumbnails(delivery)
    return f"work order {work_order.work_order_id} received with {len(attachments)} attachment(s)"


HANDLERS: dict[str, Callable[[WebhookDelivery], str]] = {
    "AttachmentAdded": _on_attachment_added,
    "AttachmentRemoved": _on_attachment_removed,
    "NewWorkOrder": _on_new_work_order,
}


def webhook_process(*, delivery_id: int) -> None:
    """Apply a stored delivery once. Unknown events stay stored and are marked, never lost."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status != WebhookStatus.RECEIVED:
            return
        handler = HANDLERS.get(delivery.event_type)
        try:
            with transaction.atomic():
                if handler is None:
                    status, outcome, message = (
                        WebhookStatus.IGNORED,
                        Outcome.SUCCEEDED,
                        "unknown event type: stored",
                    )
                else:
                    status, outcome, message = WebhookStatus.PROCESSED, Outcome.SUCCEEDED, handler(delivery)
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
