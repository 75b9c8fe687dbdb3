"""Customer actions on the CorrigoPro simulator: change the state, then call the app's webhook."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

from integrations.corrigopro.simulator.auth import _Auth
from integrations.corrigopro.simulator.state import (
    WEBHOOK_TIMEOUT_S,
    Delivery,
    SimAttachment,
    SimWorkOrder,
    _iso,
)

_CUSTOMER = {"Name": "Customer", "Phone": "", "Type": "Customer"}


class _Customer(_Auth):
    """What a customer does in CorrigoPro, and the webhook each action sends."""

    def customer_add_attachment(
        self,
        work_order_id: int,
        name: str = "customer-photo.jpg",
        content: bytes | None = None,
        mime_type: str = "image/jpeg",
        document_type: str | None = None,
    ) -> SimAttachment:
        """`content` defaults to a tiny valid JPEG; `document_type` to Picture for images, else Document."""
        return self._customer_add(work_order_id, name, content, mime_type, document_type)[0]

    def customer_remove_attachment(self, work_order_id: int, attachment_id: str) -> SimAttachment:
        return self._customer_remove(work_order_id, attachment_id)[0]

    def customer_new_work_order(
        self,
        work_order_id: int,
        status: str = "New",
        attachments: list[dict[str, Any]] | None = None,
    ) -> SimWorkOrder:
        return self._customer_new(work_order_id, status, attachments)[0]

    def _customer_add(
        self,
        work_order_id: int,
        name: str = "customer-photo.jpg",
        content: bytes | None = None,
        mime_type: str = "image/jpeg",
        document_type: str | None = None,
    ) -> tuple[SimAttachment, Delivery]:
        with self.lock:
            work_order = self._existing(work_order_id)
            subtype = document_type or ("Picture" if mime_type.startswith("image/") else "Document")
            spec = {"name": name, "mime_type": mime_type, "document_type": subtype, "content": content}
            attachment = self._new_attachment(work_order.id, spec)
            work_order.attachments.append(attachment)
            body = {
                "AttachmentId": attachment.id,
                "Name": attachment.name,
                "MimeType": attachment.mime_type,
                "Size": attachment.size,
                "Subtype": subtype,
                "Header": self._header(work_order.id, "AttachmentAdded"),
            }
        return attachment, self._deliver("AttachmentAdded", work_order.id, body)

    def _customer_remove(self, work_order_id: int, attachment_id: str) -> tuple[SimAttachment, Delivery]:
        with self.lock:
            work_order = self._existing(work_order_id)
            attachment = work_order.find(attachment_id)
            if attachment is None:
                raise ValueError(f"Work order {work_order_id} has no attachment {attachment_id}.")
            attachment.removed = True
            body = {"AttachmentId": attachment.id, "Header": self._header(work_order.id, "AttachmentRemoved")}
        return attachment, self._deliver("AttachmentRemoved", work_order.id, body)

    def _customer_new(
        self, work_order_id: int, status: str, attachments: list[dict[str, Any]] | None
    ) -> tuple[SimWorkOrder, Delivery]:
        with self.lock:
            work_order = self.add_work_order(work_order_id, status=status, attachments=attachments)
            body = {
                "WorkOrder": {"Id": work_order.id, "Status": work_order.status},
                "Attachments": [
                    {"AttachmentId": a.id, "Name": a.name, "MimeType": a.mime_type, "Size": a.size}
                    for a in work_order.attachments
                ],
                "Header": self._header(work_order.id, "NewWorkOrder"),
            }
        return work_order, self._deliver("NewWorkOrder", work_order.id, body)

    def redeliver(self, index: int) -> Delivery:
        """Send delivery `index` again: same body and MessageId, a freshly signed token (as CorrigoPro
        retries)."""
        with self.lock:
            original = self.deliveries[index]
        return self._deliver(original.event, original.work_order_id, original.body, redelivery_of=index)

    def _header(self, work_order_id: int, action: str) -> dict[str, Any]:
        return {
            "WorkOrderId": work_order_id,
            "BranchId": 1,
            "Sender": dict(_CUSTOMER),
            "Action": action,
            "ActionDate": _iso(self.clock.now()),
            "ApiVersion": "1.0",
            "MessageId": str(uuid.uuid4()),
        }

    def _deliver(
        self, event: str, work_order_id: int, body: dict[str, Any], redelivery_of: int | None = None
    ) -> Delivery:
        with self.lock:
            url, now = self.webhook_url, self.clock.now()
        delivery = Delivery(event, body["Header"]["MessageId"], work_order_id, body, url, at=now)
        delivery.redelivery_of = redelivery_of
        if url is None:
            delivery.error = "not sent: no webhook_url"
        else:
            token = self._webhook_token(now)
            headers = {
                "Authorization": f"Bearer {token}",
                "Event-Type": event,
                "Content-Type": "application/json",
            }
            # Outside the lock: the receiver may call this simulator's API before it answers.
            try:
                response = requests.post(
                    url, data=json.dumps(body).encode(), headers=headers, timeout=WEBHOOK_TIMEOUT_S
                )
                delivery.status = response.status_code
            except requests.RequestException as error:
                delivery.error = f"{type(error).__name__}: {error}"
        with self.lock:
            self.deliveries.append(delivery)
        return delivery
