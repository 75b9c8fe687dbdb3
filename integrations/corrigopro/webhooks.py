"""CorrigoPro's webhook bodies read into typed objects (docs/providers/corrigopro.md, "Webhooks").

A delivery is read twice: on receipt only its `Header` (to store it once per MessageId and answer at
once), and later, in a worker, the event it carries (`parse_event`). The token on the call is checked in
`webhook_auth.py`. What we read stays as lenient as the fields' use allows: a value of an unexpected type
is turned into text or left out, and only what an event cannot do without is refused, with
`MalformedWebhook`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """The events we act on; any other is stored and marked ignored."""

    ATTACHMENT_ADDED = "AttachmentAdded"
    ATTACHMENT_REMOVED = "AttachmentRemoved"
    NEW_WORK_ORDER = "NewWorkOrder"


class MalformedWebhook(ValueError):
    """A body without what CorrigoPro's documented shape promises. The message says what is missing and
    never quotes the body, which the sender controls."""


@dataclass(frozen=True)
class Header:
    message_id: str
    work_order_id: int | None  # None unless a positive whole number
    action: str  # "" when absent: the Event-Type header names the event then


@dataclass(frozen=True)
class Delivery:
    header: Header
    body: dict[str, Any]  # the whole body as received: stored, and processed from the store


@dataclass(frozen=True)
class WebhookAttachment:
    """An attachment as a webhook names it: its metadata, never its file."""

    attachment_id: str
    name: str
    mime_type: str
    subtype: str  # CorrigoPro's document type
    size: int | None


@dataclass(frozen=True)
class AttachmentAdded:
    attachment: WebhookAttachment


@dataclass(frozen=True)
class AttachmentRemoved:
    attachment_id: str


@dataclass(frozen=True)
class NewWorkOrder:
    status: str  # "" when the body gives none
    attachments: tuple[WebhookAttachment, ...]


Event = AttachmentAdded | AttachmentRemoved | NewWorkOrder


def parse_delivery(body: bytes) -> Delivery:
    """The body's `Header`, or MalformedWebhook when it is not JSON with a non-blank `Header.MessageId`."""
    try:
        payload = json.loads(body)
        header = payload["Header"]
        message_id = str(header["MessageId"]).strip()
        if not message_id:
            raise ValueError("empty MessageId")
    except (ValueError, KeyError, TypeError) as error:
        # Only the error's type is said: an audit row must not repeat what the sender wrote.
        raise MalformedWebhook(
            f"the body is not JSON with a Header.MessageId ({type(error).__name__})"
        ) from error
    work_order_id = header.get("WorkOrderId")
    return Delivery(
        header=Header(
            message_id=message_id,
            work_order_id=int(work_order_id)
            if isinstance(work_order_id, int) and work_order_id > 0
            else None,
            action=str(header.get("Action") or ""),
        ),
        body=payload,
    )


def named_attachment(body: Any) -> str:
    """The AttachmentId a body names at its top level, "" if none: what an audit row of it is about."""
    return str(body.get("AttachmentId") or "") if isinstance(body, dict) else ""


def parse_event(event_type: str, body: Any) -> Event | None:
    """The event a stored body carries, None for an event type we do not act on, or MalformedWebhook."""
    try:
        kind = EventType(event_type)
    except ValueError:
        return None
    if not isinstance(body, dict):
        raise MalformedWebhook(f"{kind}: the body is not a JSON object")
    if kind is EventType.ATTACHMENT_ADDED:
        return AttachmentAdded(_attachment(body, f"{kind}: the body"))
    if kind is EventType.ATTACHMENT_REMOVED:
        return AttachmentRemoved(_attachment(body, f"{kind}: the body").attachment_id)
    work_order = body.get("WorkOrder") or {}
    if not isinstance(work_order, dict):
        raise MalformedWebhook(f"{kind}: WorkOrder is not an object")
    status = work_order.get("Status")
    attachments = body.get("Attachments") or []
    if not isinstance(attachments, list):
        raise MalformedWebhook(f"{kind}: Attachments is not a list")
    return NewWorkOrder(
        status=status if isinstance(status, str) else "",
        attachments=tuple(_attachment(entry, f"{kind}: an attachment") for entry in attachments),
    )


def _attachment(entry: Any, where: str) -> WebhookAttachment:
    if not isinstance(entry, dict) or "AttachmentId" not in entry:
        raise MalformedWebhook(f"{where} has no AttachmentId")
    size = entry.get("Size")
    return WebhookAttachment(
        attachment_id=str(entry["AttachmentId"]),
        name=str(entry.get("Name") or ""),
        mime_type=str(entry.get("MimeType") or ""),
        subtype=str(entry.get("Subtype") or ""),
        size=int(size) if isinstance(size, int) and size >= 0 else None,
    )
