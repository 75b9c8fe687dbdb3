"""What the CorrigoPro simulator keeps (work orders, attachments, uploads, webhook deliveries), its
limits, and the state helpers tests call directly."""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from integrations.corrigopro.simulator.demo import DEMO_WORK_ORDERS, _content_for, demo_attachments
from integrations.simkit import SimulatorApp

# CorrigoPro's rules are copied here, not imported from integrations/corrigopro/rules.py: the simulator
# stands in for CorrigoPro, so a mistake in our copy of the rules meets a refusal instead of agreement.
MAX_FILE_SIZE = 20 * 1024 * 1024
TOKEN_TTL_S = 1199
LINK_TTL_S = 15 * 60
WEBHOOK_TOKEN_TTL_S = 1200
WEBHOOK_TIMEOUT_S = 5.0
# Where run_simulators mounts this app. Download links carry it; the file route also accepts it as a literal
# path prefix, so the same link works whether the app is mounted there or served at the root by serve().
DEFAULT_MOUNT_PREFIX = "/corrigopro"
# The docs list these statuses; the full list is not public, and "Completed" is a plausible extra.
WORK_ORDER_STATUSES = ("New", "Accepted", "Rejected", "Recalled", "Paused", "OnHold", "Completed")
DOCUMENT_TYPES = ("Document", "Picture", "Signature", "InvoicePrintout", "ServiceContract", "Misc")
VISIBILITIES = ("None", "CruOnly", "CruSubs", "CruLeads", "CruLead", "All")


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SimAttachment:
    id: str
    work_order_id: int
    name: str
    mime_type: str
    document_type: str | None = None
    visibility: str = "All"
    content: bytes = b""
    performed_by: str = "Customer"
    created_at: float = 0.0
    removed: bool = False

    @property
    def size(self) -> int:
        # Derived, not stored: the content of an attachment never changes ("You cannot modify" it).
        return len(self.content)

    def to_api(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Name": self.name,
            "MimeType": self.mime_type,
            "DocumentType": self.document_type,
            "MessageVisibility": self.visibility,
            "Size": self.size,
            "CreatedDate": _iso(self.created_at),
            "PerformedBy": {"Name": self.performed_by},
        }

    def to_dict(self) -> dict[str, Any]:
        # Control-route view: everything but the bytes.
        return {
            "id": self.id,
            "work_order_id": self.work_order_id,
            "name": self.name,
            "mime_type": self.mime_type,
            "document_type": self.document_type,
            "visibility": self.visibility,
            "size": self.size,
            "performed_by": self.performed_by,
            "created_at": self.created_at,
            "removed": self.removed,
        }


@dataclass
class SimWorkOrder:
    id: int
    status: str = "Accepted"
    attachments: list[SimAttachment] = field(default_factory=list)

    def find(self, attachment_id: str) -> SimAttachment | None:
        return next((a for a in self.attachments if a.id == attachment_id and not a.removed), None)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "attachments": [a.to_dict() for a in self.attachments]}


@dataclass(frozen=True)
class Upload:
    message_id: str
    attachment_id: str
    work_order_id: int
    name: str
    size: int
    at: float


@dataclass
class Delivery:
    """One webhook attempt. `status` is the receiver's HTTP status; `error` is set when none came back."""

    event: str
    message_id: str
    work_order_id: int
    body: dict[str, Any]
    url: str | None
    status: int | None = None
    error: str | None = None
    at: float = 0.0
    redelivery_of: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "ok": self.ok}


class _Store(SimulatorApp):
    """Work orders and their attachments; the simulator's other parts build on these."""

    client_id: str
    client_secret: str
    private_key: RSAPrivateKey
    certificate_pem: bytes
    _defaults: dict[str, Any]

    def _clear_state(self) -> None:
        self.work_orders: dict[int, SimWorkOrder] = {}
        self.tokens: dict[str, float] = {}  # access token -> expiry on self.clock
        self.token_count = 0
        self.uploads: list[Upload] = []
        self._uploads_by_message: dict[str, Upload] = {}
        self.deliveries: list[Delivery] = []
        self.bare_404_next = False
        self.webhook_url: str | None = self._defaults["webhook_url"]
        self.mount_prefix: str = self._defaults["mount_prefix"]
        self.token_ttl_s: int = self._defaults["token_ttl_s"]
        self.max_size: int = self._defaults["max_size"]
        # New key on reset: links handed out before it must stop working, like the files they pointed to.
        self._link_key = secrets.token_bytes(32)

    def add_work_order(
        self,
        work_order_id: int,
        *,
        status: str = "Accepted",
        attachments: list[dict[str, Any]] | None = None,
    ) -> SimWorkOrder:
        """Attachment specs take SimAttachment's fields; id, content and created_at are filled if absent."""
        with self.lock:
            if status not in WORK_ORDER_STATUSES:
                raise ValueError(f"Unknown status {status!r}; use one of {', '.join(WORK_ORDER_STATUSES)}.")
            if int(work_order_id) in self.work_orders:
                raise ValueError(f"Work order {work_order_id} already exists.")
            work_order = SimWorkOrder(int(work_order_id), status)
            for spec in attachments or []:
                work_order.attachments.append(self._new_attachment(work_order.id, spec))
            self.work_orders[work_order.id] = work_order
            return work_order

    def seed_demo(self) -> None:
        for work_order_id, status in DEMO_WORK_ORDERS:
            self.add_work_order(work_order_id, status=status, attachments=demo_attachments(work_order_id))

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def save_certificate(self, path: str | Path) -> Path:
        """Write the webhook certificate where the app reads the pinned one (its WEBHOOK_CERTIFICATE)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.certificate_pem)
        return target

    def attachment(self, attachment_id: str) -> SimAttachment | None:
        """Any attachment by id, removed ones included (for tests)."""
        with self.lock:
            return next(
                (a for wo in self.work_orders.values() for a in wo.attachments if a.id == attachment_id), None
            )

    def _new_attachment(self, work_order_id: int, spec: dict[str, Any]) -> SimAttachment:
        spec = dict(spec)
        mime_type = spec.pop("mime_type", "image/jpeg")
        attachment_id = str(spec.pop("id", None) or uuid.uuid4())
        if self.attachment(attachment_id) is not None:
            raise ValueError(f"Attachment id {attachment_id} is already used.")
        content = spec.pop("content", None)
        return SimAttachment(
            id=attachment_id,
            work_order_id=work_order_id,
            mime_type=mime_type,
            content=_content_for(mime_type) if content is None else bytes(content),
            created_at=float(spec.pop("created_at", None) or self.clock.now()),
            **spec,
        )

    def _existing(self, work_order_id: int) -> SimWorkOrder:
        work_order = self.work_orders.get(int(work_order_id))
        if work_order is None:
            raise ValueError(f"Work order {work_order_id} does not exist.")
        return work_order
