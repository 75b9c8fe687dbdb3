"""In-memory stand-in for CorrigoPro Direct (OAuth, work-order attachments, download links, customer
webhooks), reached over real HTTP.

Wire formats follow docs/providers/corrigopro.md. Where the public pages are silent, these are our
choices (keep the client tolerant of them, not dependent on them):
- every coded error is HTTP 400 with `{"Code", "Message", "ValidationErrors", "MessageId"}`, not-found
  included; `bare_404_next` turns the next not-found into the documented bare 404;
- auth failures are 401 `{"Message": "Authorization has been denied for this request."}` (ASP.NET style);
- a Recalled work order answers 3005 to every call (the code's name is "not found or recalled"); Rejected
  only refuses uploads (3001), the one rule the docs state;
- PUT replaces the metadata: an omitted DocumentType becomes null, an omitted MessageVisibility "All";
- PUT and DELETE accept JSON, multipart or urlencoded bodies, and DELETE also the query string;
- a repeated upload MessageId answers the first AttachmentId and stores nothing (a retry after a lost
  answer); DELETE is not idempotent: deleting again answers 3003, so clients must read that as "gone";
- download links are `http://<Host><mount_prefix>/files/<id>?expires=<epoch>&signature=<hmac>`, served by
  this app without a bearer token, refused with an S3-style XML 403 once expired (on the simulator clock)
  or tampered with.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
import io
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import Parser
from email.policy import compat32
from email.utils import collapse_rfc2231_value
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import requests
from PIL import Image

from integrations.corrigopro.webhook_auth import AUDIENCE, generate_signing_identity, sign_token
from integrations.simkit import (
    BadRequestError,
    Clock,
    Outcome,
    SimRequest,
    SimResponse,
    SimulatorApp,
    json_response,
    text_response,
)

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

ERROR_MESSAGES = {
    2100: "The request is invalid.",
    3000: "Business rule violation.",
    3001: "Work order state is invalid for the operation",
    3002: "Work order is prebilled",
    3003: "Referenced entity not found",
    3005: "Work order not found or recalled",
}
_DENIED = {"Message": "Authorization has been denied for this request."}
_NAME_WITH_EXTENSION = re.compile(r".+\.[A-Za-z0-9]{1,10}")
_MIME_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+", re.ASCII)
_CUSTOMER = {"Name": "Customer", "Phone": "", "Type": "Customer"}
_REDELIVER_PATH = re.compile(r"/_sim/corrigopro/deliveries/(?P<index>\d+)/redeliver")


def _demo_id(work_order_id: int, name: str) -> str:
    # Stable across runs, so a demo loader on the app side can mirror the seeded attachments.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"corrigopro-sim/{work_order_id}/{name}"))


# (work order id, status); ids in the 41xxxxx range so they never look like RecoveryConnect's.
DEMO_WORK_ORDERS: list[tuple[int, str]] = [
    (4100001, "Accepted"),
    (4100002, "Accepted"),
    (4100003, "New"),
    (4100004, "Rejected"),
    (4100005, "Recalled"),
    (4100006, "OnHold"),
]
# (name, MIME type, document type) of the files customers attached to the demo work orders.
_DEMO_FILES: dict[int, list[tuple[str, str, str]]] = {
    4100001: [
        ("leak-under-sink.jpg", "image/jpeg", "Picture"),
        ("site-access.pdf", "application/pdf", "Document"),
    ],
    4100002: [
        ("broken-hvac-panel.jpg", "image/jpeg", "Picture"),
        ("service-contract.pdf", "application/pdf", "ServiceContract"),
    ],
}


def demo_attachments(work_order_id: int) -> list[dict[str, Any]]:
    """The attachment specs `seed_demo` gives a demo work order (ids are stable across runs)."""
    return [
        {
            "id": _demo_id(work_order_id, name),
            "name": name,
            "mime_type": mime_type,
            "document_type": document_type,
            "performed_by": "Customer",
        }
        for name, mime_type, document_type in _DEMO_FILES.get(work_order_id, [])
    ]


@functools.lru_cache(maxsize=8)
def tiny_jpeg(color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    """A valid 8x8 JPEG: demo and test files that image tools really open."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, "JPEG")
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def tiny_pdf() -> bytes:
    """A valid one-page PDF (the xref offsets are computed, so readers do not have to repair it)."""
    text = b"BT /F1 12 Tf 20 50 Td (CorrigoPro simulator) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return bytes(out)


def _content_for(mime_type: str) -> bytes:
    if mime_type == "image/jpeg":
        return tiny_jpeg()
    if mime_type == "application/pdf":
        return tiny_pdf()
    return b"CorrigoPro simulator file\n"


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


@dataclass
class _Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def _parse_multipart(body: bytes, content_type: str) -> dict[str, _Part]:
    """A small RFC 7578 reader. The email package's MIME parser may rewrite line endings inside binary parts;
    splitting on the boundary keeps the file bytes exact."""
    boundary = _header_param(content_type, "boundary")
    if not boundary:
        raise BadRequestError("multipart/form-data without a boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    # A leading CRLF makes the first delimiter look like the others; whatever precedes it is preamble.
    sections = (b"\r\n" + body).split(delimiter)
    parts: dict[str, _Part] = {}
    for section in sections[1:]:
        if section.startswith(b"--"):
            return parts
        line_end = section.find(b"\r\n")
        head, separator, data = section[line_end + 2 :].partition(b"\r\n\r\n")
        if line_end < 0 or section[:line_end].strip(b" \t") or not separator:
            raise BadRequestError("malformed multipart part")
        headers = Parser(policy=compat32).parsestr(head.decode("utf-8", "replace") + "\r\n\r\n", True)
        disposition = headers.get("Content-Disposition", "")
        name = _header_param(disposition, "name")
        if name is None:
            raise BadRequestError("multipart part without a name")
        filename = _header_param(disposition, "filename")
        parts.setdefault(name, _Part(name, filename, headers.get("Content-Type"), data))
    raise BadRequestError("multipart body without its closing boundary")


def _header_param(value: str, name: str) -> str | None:
    # The email package already knows quoting and RFC 2231 (filename*=utf-8''...); reuse it for one header.
    headers = Parser(policy=compat32).parsestr(f"X: {value}\r\n\r\n", True)
    param = headers.get_param(name, header="x")
    if param is None or isinstance(param, str):
        return param
    return collapse_rfc2231_value(param)


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    # JSON may nest {"PerformedBy": {"Name": ..}}; forms spell it "PerformedBy.Name". Both end up dotted.
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class _Checker:
    """Collects every validation error of a request, as ASP.NET model validation reports them all at once."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.errors: list[tuple[str, str]] = []

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int | None = None,
        choices: tuple[str, ...] | None = None,
    ) -> str:
        """The value, or "" when absent or invalid (an error is recorded, so the caller answers 2100)."""
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                self.errors.append((name, f"The {name} field is required."))
            return ""
        if not isinstance(value, str):
            self.errors.append((name, f"The field {name} must be a string."))
        elif max_length is not None and len(value) > max_length:
            self.errors.append(
                (name, f"The field {name} must be a string with a maximum length of {max_length}.")
            )
        elif choices is not None and value not in choices:
            self.errors.append((name, f"The value '{value}' is not valid for {name}."))
        else:
            return value
        return ""

    def integer(self, name: str) -> int:
        value = self.values.get(name)
        if value is None or value == "":
            self.errors.append((name, f"The {name} field is required."))
        elif isinstance(value, int) and not isinstance(value, bool):
            return value
        elif isinstance(value, str) and value.strip().isdigit():
            return int(value)
        else:
            self.errors.append((name, f"The value '{value}' is not valid for {name}."))
        return 0

    def file_name(self, name: str) -> str:
        value = self.text(name, required=True)
        if value and not _NAME_WITH_EXTENSION.fullmatch(value):
            self.errors.append((name, f"The {name} field must include the file extension."))
            return ""
        return value

    def mime_type(self, name: str) -> str:
        value = self.text(name, required=True)
        # Checked because it becomes the file's Content-Type header, which must be plain ASCII.
        if value and not _MIME_TYPE.fullmatch(value):
            self.errors.append((name, f"The value '{value}' is not a valid MIME type."))
            return ""
        return value


class CorrigoProSimulator(SimulatorApp):
    def __init__(
        self,
        client_id: str = "demo-client",
        client_secret: str = "demo-secret",  # noqa: S107 - the simulator's well-known demo credential
        *,
        webhook_url: str | None = None,
        mount_prefix: str = DEFAULT_MOUNT_PREFIX,
        token_ttl_s: int = TOKEN_TTL_S,
        max_size: int = MAX_FILE_SIZE,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock)
        self.client_id, self.client_secret = client_id, client_secret
        self._defaults: dict[str, Any] = {
            "webhook_url": webhook_url,
            "mount_prefix": mount_prefix,
            "token_ttl_s": token_ttl_s,
            "max_size": max_size,
        }
        # The identity outlives reset(): the app pins this certificate, like the provider's published one.
        self.private_key, self.certificate_pem = generate_signing_identity()
        self._clear_state()
        self.add_route("POST", "/oauth/token", self._token)
        self.add_route("GET", "/api/attachments", self._list)
        self.add_route("POST", "/api/attachments", self._upload)
        self.add_route("PUT", "/api/attachments", self._update)
        self.add_route("DELETE", "/api/attachments", self._delete)
        self.add_route("GET", "/api/attachments/downloadUrl", self._download_url)
        # Any leading path: served at the root by serve(), the app still gets the mounted link's full path.
        self.add_route("GET", r"(?:/[\w.-]+)*/files/(?P<attachment_id>[\w-]+)", self._file)
        self.add_route("POST", "/_sim/corrigopro/work-orders", self._control_add_work_order)
        self.add_route("GET", "/_sim/corrigopro/work-orders", self._control_work_orders)
        self.add_route("POST", "/_sim/corrigopro/seed-demo", self._control_seed_demo)
        self.add_route("POST", "/_sim/corrigopro/customer/add-attachment", self._control_customer_add)
        self.add_route("POST", "/_sim/corrigopro/customer/remove-attachment", self._control_customer_remove)
        self.add_route("POST", "/_sim/corrigopro/customer/new-work-order", self._control_customer_new)
        self.add_route("GET", "/_sim/corrigopro/certificate", self._control_certificate)
        self.add_route("GET", "/_sim/corrigopro/deliveries", self._control_deliveries)
        self.add_route("POST", _REDELIVER_PATH, self._control_redeliver)
        self.add_route("GET", "/_sim/corrigopro/uploads", self._control_uploads)
        self.add_route("GET", "/_sim/corrigopro/behaviour", lambda request: self._behaviour_response())
        self.add_route("POST", "/_sim/corrigopro/behaviour", self._control_behaviour)

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

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._clear_state()

    def dispatch(self, request: SimRequest) -> Outcome:
        # SimulatorApp runs control routes under self.lock. Customer actions deliver a webhook synchronously,
        # and the app may call this simulator back from its webhook handler (another server thread): holding
        # the lock through the delivery would stall that call until the webhook timed out. These handlers take
        # the lock themselves, around state changes only.
        path = request.path
        if path.startswith("/_sim/corrigopro/customer/") or _REDELIVER_PATH.fullmatch(path):
            return self._route(request)
        return super().dispatch(request)

    # --- state helpers (tests call these directly) ---

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

    # --- customer actions: change state, then call the app's webhook ---

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

    def _existing(self, work_order_id: int) -> SimWorkOrder:
        work_order = self.work_orders.get(int(work_order_id))
        if work_order is None:
            raise ValueError(f"Work order {work_order_id} does not exist.")
        return work_order

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
            # Times from the simulator clock, so a test that advances it also ages the webhook tokens.
            claims = {"aud": AUDIENCE, "iat": int(now), "exp": int(now) + WEBHOOK_TOKEN_TTL_S}
            token = sign_token({**claims, "iss": "corrigopro-simulator"}, private_key=self.private_key)
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

    # --- OAuth ---

    def _token(self, request: SimRequest) -> SimResponse:
        try:
            form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            form = {}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        # Compared as bytes: compare_digest refuses non-ASCII str, and a login must never answer 500.
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        if not (id_ok and hmac.compare_digest(client_secret.encode(), self.client_secret.encode())):
            return json_response(401, {"error": "invalid_client"})
        if not form.get("grant_type"):
            return json_response(400, {"error": "invalid_request"})
        if form["grant_type"] != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type"})
        now = self.clock.now()
        # Shaped like the documented "<payload><---->signature"; only the lookup in self.tokens counts.
        claims = {"aud": AUDIENCE, "client_id": self.client_id, "iat": int(now), "jti": str(uuid.uuid4())}
        access_token = sign_token(
            {**claims, "exp": int(now) + self.token_ttl_s}, private_key=self.private_key
        )
        self.tokens[access_token] = now + self.token_ttl_s
        self.token_count += 1
        body = {"access_token": access_token, "token_type": "bearer", "expires_in": self.token_ttl_s}
        return json_response(200, body, {"Cache-Control": "no-store"})

    def _denied(self, request: SimRequest) -> SimResponse | None:
        scheme, _, token = (request.header("Authorization") or "").strip().partition(" ")
        expires_at = self.tokens.get(token.strip())
        if scheme.lower() == "bearer" and expires_at is not None and self.clock.now() < expires_at:
            return None
        return json_response(401, _DENIED)

    # --- errors and request bodies ---

    def _error(
        self, code: int, values: dict[str, Any], validation_errors: list[tuple[str, str]] | None = None
    ) -> SimResponse:
        message_id = values.get("MessageId")
        body = {
            "Code": code,
            "Message": ERROR_MESSAGES[code],
            "ValidationErrors": [
                {"PropertyName": name, "ErrorMessage": message} for name, message in validation_errors or []
            ],
            "MessageId": message_id if isinstance(message_id, str) and message_id else str(uuid.uuid4()),
        }
        return json_response(400, body)

    def _not_found(self, code: int, values: dict[str, Any]) -> SimResponse:
        if self.bare_404_next:
            self.bare_404_next = False
            return SimResponse(404)
        return self._error(code, values)

    def _invalid(self, values: dict[str, Any], errors: list[tuple[str, str]]) -> SimResponse:
        return self._error(2100, values, errors)

    def _work_order(self, work_order_id: int, values: dict[str, Any]) -> SimWorkOrder | SimResponse:
        work_order = self.work_orders.get(work_order_id)
        if work_order is None or work_order.status == "Recalled":
            return self._not_found(3005, values)
        return work_order

    def _read_form(self, request: SimRequest) -> tuple[dict[str, Any], _Part | None] | SimResponse:
        content_type = request.header("Content-Type") or ""
        media_type = content_type.partition(";")[0].strip().lower()
        values: dict[str, Any] = {}
        file: _Part | None = None
        try:
            if media_type == "multipart/form-data":
                parts = _parse_multipart(request.body, content_type)
                file = parts.pop("File", None)
                values = {name: part.data.decode("utf-8") for name, part in parts.items()}
            elif media_type == "application/x-www-form-urlencoded":
                values = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            elif request.body.strip():
                body = request.json()
                if not isinstance(body, dict):
                    raise BadRequestError("The request body must be a JSON object.")
                values = _flatten(body)
        except (BadRequestError, UnicodeDecodeError) as error:
            return self._invalid({}, [("Body", str(error))])
        for name, value in request.query.items():
            values.setdefault(name, value)
        return values, file

    # --- attachments API ---

    def _list(self, request: SimRequest) -> SimResponse:
        if (denied := self._denied(request)) is not None:
            return denied
        check = _Checker(request.query)
        work_order_id = check.integer("WorkOrderId")
        if check.errors:
            return self._invalid(request.query, check.errors)
        work_order = self._work_order(work_order_id, request.query)
        if isinstance(work_order, SimResponse):
            return work_order
        return json_response(200, [a.to_api() for a in work_order.attachments if not a.removed])

    def _upload(self, request: SimRequest) -> SimResponse:
        if (denied := self._denied(request)) is not None:
            return denied
        form = self._read_form(request)
        if isinstance(form, SimResponse):
            return form
        values, file = form
        previous = self._uploads_by_message.get(values.get("MessageId") or "")
        if previous is not None:
            # A client retrying after a lost answer gets the first result, and no second copy is stored.
            return json_response(
                200, {"AttachmentId": previous.attachment_id, "MessageId": previous.message_id}
            )
        check = _Checker(values)
        work_order_id = check.integer("WorkOrderId")
        name = check.file_name("Name")
        document_type = check.text("DocumentType", choices=DOCUMENT_TYPES)
        visibility = check.text("MessageVisibility", choices=VISIBILITIES) or "All"
        mime_type = check.mime_type("MimeType")
        performed_by = check.text("PerformedBy.Name", required=True, max_length=100)
        check.text("PerformedBy.Phone")
        message_id = check.text("MessageId", required=True, max_length=36)
        if file is None:
            check.errors.append(("File", "The File field is required."))
        elif not file.data:
            check.errors.append(("File", "The file is empty."))
        elif len(file.data) > self.max_size:
            check.errors.append(("File", f"The file size must not exceed {_size_text(self.max_size)}."))
        if check.errors or file is None:
            return self._invalid(values, check.errors)
        work_order = self._work_order(work_order_id, values)
        if isinstance(work_order, SimResponse):
            return work_order
        if work_order.status == "Rejected":
            return self._error(3001, values)
        attachment = self._new_attachment(
            work_order.id,
            {
                "name": name,
                "mime_type": mime_type,
                "document_type": document_type or None,
                "visibility": visibility,
                "content": file.data,
                "performed_by": performed_by,
            },
        )
        work_order.attachments.append(attachment)
        upload = Upload(message_id, attachment.id, work_order.id, name, attachment.size, self.clock.now())
        self.uploads.append(upload)
        self._uploads_by_message[message_id] = upload
        return json_response(200, {"AttachmentId": attachment.id, "MessageId": message_id})

    def _target(
        self, request: SimRequest, check_more: Callable[[_Checker], None] | None = None
    ) -> tuple[dict[str, Any], _Checker, SimAttachment] | SimResponse:
        """Read an update/delete request: auth, body, ids, then the live attachment it names."""
        if (denied := self._denied(request)) is not None:
            return denied
        form = self._read_form(request)
        if isinstance(form, SimResponse):
            return form
        values = form[0]
        check = _Checker(values)
        work_order_id = check.integer("WorkOrderId")
        attachment_id = check.text("AttachmentId", required=True, max_length=36)
        if check_more is not None:
            check_more(check)
        check.text("MessageId", required=True, max_length=36)
        if check.errors:
            return self._invalid(values, check.errors)
        work_order = self._work_order(work_order_id, values)
        if isinstance(work_order, SimResponse):
            return work_order
        attachment = work_order.find(attachment_id)
        if attachment is None:
            return self._not_found(3003, values)
        return values, check, attachment

    def _update(self, request: SimRequest) -> SimResponse:
        fields: dict[str, str] = {}

        def check_metadata(check: _Checker) -> None:
            fields["name"] = check.file_name("Name")
            fields["document_type"] = check.text("DocumentType", choices=DOCUMENT_TYPES)
            fields["visibility"] = check.text("MessageVisibility", choices=VISIBILITIES) or "All"

        target = self._target(request, check_metadata)
        if isinstance(target, SimResponse):
            return target
        values, _, attachment = target
        attachment.name = fields["name"]
        attachment.document_type = fields["document_type"] or None
        attachment.visibility = fields["visibility"]
        return json_response(200, {"MessageId": values["MessageId"]})

    def _delete(self, request: SimRequest) -> SimResponse:
        target = self._target(request)
        if isinstance(target, SimResponse):
            return target
        values, _, attachment = target
        attachment.removed = True
        return json_response(200, {"MessageId": values["MessageId"]})

    def _download_url(self, request: SimRequest) -> SimResponse:
        if (denied := self._denied(request)) is not None:
            return denied
        check = _Checker(request.query)
        attachment_id = check.text("AttachmentId", required=True, max_length=36)
        work_order_id = check.integer("WorkOrderId")
        if check.errors:
            return self._invalid(request.query, check.errors)
        work_order = self._work_order(work_order_id, request.query)
        if isinstance(work_order, SimResponse):
            return work_order
        attachment = work_order.find(attachment_id)
        if attachment is None:
            return self._not_found(3003, request.query)
        expires = int(self.clock.now()) + LINK_TTL_S
        host = request.header("Host") or "127.0.0.1"
        url = f"http://{host}{self.mount_prefix}/files/{attachment.id}"
        return json_response(
            200, {"Url": f"{url}?expires={expires}&signature={self._sign_link(attachment.id, expires)}"}
        )

    def _sign_link(self, attachment_id: str, expires: int) -> str:
        return hmac.new(self._link_key, f"{attachment_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def _file(self, request: SimRequest, attachment_id: str) -> SimResponse:
        # Like a pre-signed storage URL: the link is the credential, so no bearer token is asked for.
        expires_text, signature = request.query.get("expires", ""), request.query.get("signature", "")
        expected = self._sign_link(attachment_id, int(expires_text)) if expires_text.isdigit() else ""
        if not expected or not hmac.compare_digest(signature.encode(), expected.encode()):
            return _storage_error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
        if self.clock.now() > int(expires_text):
            return _storage_error(403, "AccessDenied", "Request has expired")
        attachment = self.attachment(attachment_id)
        if attachment is None or attachment.removed:
            return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
        return SimResponse(200, {"Content-Type": attachment.mime_type}, attachment.content)

    # --- control routes ---

    def _control_add_work_order(self, request: SimRequest) -> SimResponse:
        body = request.json()
        try:
            if not isinstance(body, dict) or "work_order_id" not in body:
                raise ValueError('Body must be {"work_order_id": .., "status": .., "attachments": [..]}.')
            specs = [_spec_from_json(spec) for spec in body.get("attachments") or []]
            work_order = self.add_work_order(
                body["work_order_id"], status=body.get("status", "Accepted"), attachments=specs
            )
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(201, work_order.to_dict())

    def _control_work_orders(self, request: SimRequest) -> SimResponse:
        return json_response(200, {"work_orders": [wo.to_dict() for wo in self.work_orders.values()]})

    def _control_seed_demo(self, request: SimRequest) -> SimResponse:
        try:
            self.seed_demo()
        except ValueError as error:
            return json_response(409, {"message": str(error)})
        return self._control_work_orders(request)

    def _control_customer_add(self, request: SimRequest) -> SimResponse:
        body = request.json()
        try:
            if not isinstance(body, dict) or "work_order_id" not in body:
                raise ValueError(
                    "Body must hold work_order_id (and optionally name, mime_type, content_base64)."
                )
            spec = _spec_from_json({k: v for k, v in body.items() if k != "work_order_id"})
            attachment, delivery = self._customer_add(int(body["work_order_id"]), **spec)
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(200, {"attachment": attachment.to_dict(), "delivery": delivery.to_dict()})

    def _control_customer_remove(self, request: SimRequest) -> SimResponse:
        body = request.json()
        try:
            if not isinstance(body, dict) or not {"work_order_id", "attachment_id"} <= set(body):
                raise ValueError("Body must hold work_order_id and attachment_id.")
            attachment, delivery = self._customer_remove(
                int(body["work_order_id"]), str(body["attachment_id"])
            )
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(200, {"attachment": attachment.to_dict(), "delivery": delivery.to_dict()})

    def _control_customer_new(self, request: SimRequest) -> SimResponse:
        body = request.json()
        try:
            if not isinstance(body, dict) or "work_order_id" not in body:
                raise ValueError("Body must hold work_order_id (and optionally status, attachments).")
            specs = [_spec_from_json(spec) for spec in body.get("attachments") or []]
            work_order, delivery = self._customer_new(
                int(body["work_order_id"]), body.get("status", "New"), specs
            )
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(200, {"work_order": work_order.to_dict(), "delivery": delivery.to_dict()})

    def _control_certificate(self, request: SimRequest) -> SimResponse:
        return text_response(200, self.certificate_pem.decode("ascii"), "application/x-pem-file")

    def _control_deliveries(self, request: SimRequest) -> SimResponse:
        return json_response(200, {"deliveries": [d.to_dict() for d in self.deliveries]})

    def _control_redeliver(self, request: SimRequest, index: str) -> SimResponse:
        try:
            delivery = self.redeliver(int(index))
        except IndexError:
            return json_response(404, {"message": f"No delivery {index}."})
        return json_response(200, delivery.to_dict())

    def _control_uploads(self, request: SimRequest) -> SimResponse:
        return json_response(200, {"uploads": [vars(upload) for upload in self.uploads]})

    def _control_behaviour(self, request: SimRequest) -> SimResponse:
        body = request.json()
        allowed = {"webhook_url", "bare_404_next", "max_size", "token_ttl_s", "garbage_next", "mount_prefix"}
        if not isinstance(body, dict) or not set(body) <= allowed:
            return json_response(400, {"message": f"Allowed keys: {', '.join(sorted(allowed))}."})
        if body.get("garbage_next") not in (None, "html", "truncated"):
            return json_response(400, {"message": 'garbage_next must be null, "html" or "truncated".'})
        if "webhook_url" in body:
            self.webhook_url = body["webhook_url"] or None
        if "mount_prefix" in body:
            self.mount_prefix = str(body["mount_prefix"] or "").rstrip("/")
        if "bare_404_next" in body:
            self.bare_404_next = bool(body["bare_404_next"])
        if "garbage_next" in body:
            self.garbage_next = body["garbage_next"]
        for name in ("max_size", "token_ttl_s"):
            if name in body:
                setattr(self, name, int(body[name]))
        return self._behaviour_response()

    def _behaviour_response(self) -> SimResponse:
        return json_response(
            200,
            {
                "webhook_url": self.webhook_url,
                "mount_prefix": self.mount_prefix,
                "bare_404_next": self.bare_404_next,
                "max_size": self.max_size,
                "token_ttl_s": self.token_ttl_s,
                "garbage_next": self.garbage_next,
            },
        )


def _spec_from_json(spec: Any) -> dict[str, Any]:
    # JSON cannot carry bytes: control routes send file content as content_base64.
    if not isinstance(spec, dict):
        raise ValueError("Each attachment must be a JSON object.")
    result: dict[str, Any] = dict(spec)
    if "content_base64" in result:
        result["content"] = base64.b64decode(result.pop("content_base64"), validate=True)
    return result


def _size_text(size: int) -> str:
    mebibyte = 1024 * 1024
    return f"{size // mebibyte} MB" if size % mebibyte == 0 else f"{size} bytes"


def _storage_error(status: int, code: str, message: str) -> SimResponse:
    # Object stores answer pre-signed URL failures in XML, never the API's JSON.
    xml = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}'
    return text_response(status, xml, "application/xml")
