"""Argument handling the corrigo_* commands share."""

from __future__ import annotations

import uuid
from argparse import ArgumentParser
from typing import Any

from integrations.corrigopro.rules import DOCUMENT_TYPES, VISIBILITIES
from media_sync.models import CorrigoAttachment, CorrigoWorkOrder
from media_sync.services.ids import parse_ids
from media_sync.services.refusals import InputRefused


def add_work_order_argument(parser: ArgumentParser) -> None:
    parser.add_argument("--work-order", required=True, metavar="ID", help="CorrigoPro work order id")


def add_metadata_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--name", help="attachment name, with its extension")
    parser.add_argument("--document-type", default="", help=f"one of {', '.join(DOCUMENT_TYPES)}")
    parser.add_argument("--visibility", default="", help=f"one of {', '.join(VISIBILITIES)}")


def work_order_from(options: dict[str, Any]) -> CorrigoWorkOrder:
    """The mirrored work order, or an unsaved stand-in: a refused command writes nothing."""
    (work_order_id,) = parse_ids([options["work_order"]], what="work order id")
    return CorrigoWorkOrder.objects.filter(work_order_id=work_order_id).first() or CorrigoWorkOrder(
        work_order_id=work_order_id
    )


def attachment_from(options: dict[str, Any]) -> CorrigoAttachment:
    work_order = work_order_from(options)
    try:
        attachment_id = str(uuid.UUID(options["attachment"]))
    except ValueError:
        raise InputRefused(f"{options['attachment']!r} is not an attachment id (a GUID)") from None
    attachment = (
        CorrigoAttachment.objects.select_related("work_order").filter(attachment_id=attachment_id).first()
    )
    if attachment is None:
        return CorrigoAttachment(attachment_id=attachment_id, work_order=work_order)
    if attachment.work_order.work_order_id != work_order.work_order_id:
        raise InputRefused(f"attachment {attachment_id} belongs to {attachment.work_order}, not {work_order}")
    return attachment
