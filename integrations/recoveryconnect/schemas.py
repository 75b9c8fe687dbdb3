"""RecoveryConnect answers as typed objects; anything of another shape is a parse error, never a guess."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integrations.errors import FailureClass, ProviderError

SUCCESS = "success"
FAIL = "fail"


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int
    token_type: str


@dataclass(frozen=True)
class Photo:
    id: int
    order_id: int
    name: str
    type_id: int | None
    type_name: str
    # Pre-signed and short-lived: read it, never store it.
    photo_url: str


@dataclass(frozen=True)
class Recovery:
    """A recovery (the repossession event an order's recovery photos hang on). `created_at` is kept as
    RecoveryConnect writes it: its format is not documented."""

    id: int
    order_id: int
    created_at: str
    is_active: bool


@dataclass(frozen=True)
class UploadedPhoto:
    """The answer to an upload: the new photo's id is `attachment_id`."""

    order_id: int
    attachment_id: int
    recovery_id: int


@dataclass(frozen=True)
class TransferOutcome:
    """One orders[] entry: one photo to one destination (a client order id)."""

    destination: int
    photo_id: int
    status: str

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCESS


def _shape_error(what: str) -> ProviderError:
    return ProviderError(
        f"unexpected response shape: {what}",
        failure_class=FailureClass.PARSE,
        transient=False,
        http_status=200,
    )


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _shape_error(f"{what} is not an integer")
    return int(value)


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _shape_error(f"{what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _shape_error(f"{what} is not a list")
    return value


def parse_token(body: Any) -> Token:
    body = _dict(body, "auth response")
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise _shape_error("auth response has no access_token")
    return Token(
        access_token=token,
        expires_in=_int(body.get("expires_in"), "expires_in"),
        token_type=str(body.get("token_type", "Bearer")),
    )


def parse_photos(body: Any) -> list[Photo]:
    photos = []
    for entry in _list(_dict(body, "photos response").get("data"), "data"):
        entry = _dict(entry, "photo")
        photo_type: dict[str, Any] = entry["type"] if isinstance(entry.get("type"), dict) else {}
        photos.append(
            Photo(
                id=_int(entry.get("id"), "photo id"),
                order_id=_int(entry.get("order_id"), "photo order_id"),
                name=str(entry.get("name") or ""),
                type_id=photo_type.get("id") if isinstance(photo_type.get("id"), int) else None,
                type_name=str(photo_type.get("name") or ""),
                photo_url=str(entry.get("photo_url") or ""),
            )
        )
    return photos


def parse_transfer(body: Any) -> list[TransferOutcome]:
    outcomes = []
    for order in _list(_dict(body, "transfer response").get("orders"), "orders"):
        order = _dict(order, "orders[] entry")
        destination = _int(order.get("id"), "orders[].id")
        for attachment in _list(order.get("attachments"), "orders[].attachments"):
            attachment = _dict(attachment, "attachment")
            status = attachment.get("status")
            if not isinstance(status, str):
                raise _shape_error("attachment status is not a string")
            outcomes.append(TransferOutcome(destination, _int(attachment.get("id"), "attachment id"), status))
    return outcomes


def parse_recoveries(body: Any) -> list[Recovery]:
    recoveries = []
    for entry in _list(_dict(body, "recoveries response").get("data"), "data"):
        entry = _dict(entry, "recovery")
        active = entry.get("is_active")
        # Documented as the string "1"; 0/1 and booleans are read the same way, anything else is not guessed.
        if active in ("1", 1, True):
            is_active = True
        elif active in ("0", 0, False):
            is_active = False
        else:
            raise _shape_error('recovery is_active is not "1" or "0"')
        created_at = entry.get("created_at")
        if created_at is not None and not isinstance(created_at, str):
            raise _shape_error("recovery created_at is not a string")
        recoveries.append(
            Recovery(
                id=_int(entry.get("id"), "recovery id"),
                order_id=_int(entry.get("order_id"), "recovery order_id"),
                created_at=created_at or "",
                is_active=is_active,
            )
        )
    return recoveries


def parse_uploaded(body: Any, *, personal: bool = False) -> UploadedPhoto:
    body = _dict(body, "upload response")
    if personal and body.get("status") != SUCCESS:
        raise _shape_error(f'upload status is {body.get("status")!r}, not "success"')
    data = _dict(body.get("data"), "upload response data")
    return UploadedPhoto(
        order_id=_int(data.get("order_id"), "order_id"),
        attachment_id=_int(data.get("attachment_id"), "attachment_id"),
        recovery_id=_int(data.get("recovery_id"), "recovery_id"),
    )


# --- Documents ----------------------------------------------------------------------------------------
# The public page says only that documents "follow the same shapes under /documents" and that a document
# read carries who uploaded it and a download link lasting about 30 minutes. The field names are our pick
# (docs/providers/recoveryconnect.md, "Documents"): {"id", "order_id", "name", "uploaded_by", "created_at":
# "YYYY-MM-DD HH:mm:ss", "document_url"}. Where the page is silent we read tolerantly (the uploader as a
# string or an object with a name, a time with or without a "T" or an offset, no time at all); the id
# must be an integer: an id is never guessed.


@dataclass(frozen=True)
class Document:
    id: int
    order_id: int | None
    name: str
    uploaded_by: str
    # The provider's time as it gave it: naive when it names no offset (the caller knows the zone).
    created_at: datetime | None
    # Pre-signed, about 30 minutes: read it, never store it.
    document_url: str


def _uploader(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        if isinstance(value.get("name"), str):
            return str(value["name"]).strip()
        parts = [value.get(key) for key in ("first_name", "last_name")]
        return " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())
    return ""


def _provider_time(value: Any) -> datetime | None:
    """ "YYYY-MM-DD HH:mm:ss" as documented for the other reads; ISO 8601 (a "T", a fraction, an offset or
    "Z") is read too. Anything else is no time, not a guess."""
    if not isinstance(value, str) or len(value.strip()) < 19:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def parse_documents(body: Any) -> list[Document]:
    documents = []
    for entry in _list(_dict(body, "documents response").get("data"), "data"):
        entry = _dict(entry, "document")
        document_id = _int(entry.get("id"), "document id")
        if not 0 < document_id < 2**63:  # what the mirror's id column holds
            raise _shape_error(f"document id {document_id} is out of range")
        order_id = entry.get("order_id")
        url = next(
            (entry[k] for k in ("document_url", "download_url", "url") if isinstance(entry.get(k), str)), ""
        )
        documents.append(
            Document(
                id=document_id,
                order_id=order_id if isinstance(order_id, int) and not isinstance(order_id, bool) else None,
                name=str(entry.get("name") or entry.get("file_name") or ""),
                uploaded_by=_uploader(entry.get("uploaded_by", entry.get("uploader"))),
                created_at=_provider_time(entry.get("created_at")),
                document_url=url,
            )
        )
    return documents
