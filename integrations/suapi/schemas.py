"""SU API answers as typed objects; "Status": "Fail" is a failure whatever the HTTP status said."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.errors import FailureClass, ProviderError
from integrations.suapi.rules import FAILURE_OF_STATUS, FINAL_STATUSES, ORIGINAL_ID, PhotoStatus

# The documented codes, in words an operator can act on.
ERROR_CODES: dict[str, tuple[FailureClass, str]] = {
    "400": (FailureClass.INVALID_INPUT, "the hotel code is not known to the SU API"),
    "573": (FailureClass.PROVIDER_RULE, "the property has no channel mapping for this channel hotel id"),
    "574": (FailureClass.INVALID_INPUT, "an image tag is not valid"),
    "578": (FailureClass.NOT_FOUND, "no photo data found"),
}


@dataclass(frozen=True)
class Created:
    batch_id: str
    ruid: str


@dataclass(frozen=True)
class PendingPhoto:
    photo_pending_id: str
    status: str  # a PhotoStatus value, or a word not listed there, kept as the SU API said it
    status_message: str
    photo_id: str
    url: str
    request_timestamp: str

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def failure_class(self) -> FailureClass:
        return FAILURE_OF_STATUS.get(self.status, FailureClass.PROVIDER_ERROR)

    @property
    def duplicate_of(self) -> str:
        """The Booking.com photo a duplicate copies: named in its message, else its own photo_id."""
        if self.status != PhotoStatus.DUPLICATE:
            return ""
        original = ORIGINAL_ID.search(self.status_message)
        return original.group(1) if original else self.photo_id


@dataclass(frozen=True)
class Pending:
    photos: list[PendingPhoto]
    ruid: str


@dataclass(frozen=True)
class PropertyPhoto:
    photo_id: str
    url: str
    tags: list[int]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def failure(body: dict[str, Any], http_status: int) -> ProviderError:
    """Either envelope: `Errors` with Code/ShortText, or an empty `Errors` and a `Message`."""
    ruid = _text(body.get("Ruid"))
    errors = [e for e in body.get("Errors") or [] if isinstance(e, dict)]
    if errors:
        code = _text(errors[0].get("Code"))
        failure_class, meaning = ERROR_CODES.get(
            code, (FailureClass.PROVIDER_RULE, "the SU API refused the request")
        )
        texts = "; ".join(_text(e.get("ShortText")) for e in errors)
        return ProviderError(
            f"{meaning} ({code}: {texts})",
            failure_class=failure_class,
            transient=False,
            http_status=http_status,
            code=code,
            reference=ruid,
        )
    message = _text(body.get("Message")) or "the SU API answered Fail without a reason"
    # The documented answer to an unknown or expired photo batch id.
    failure_class = (
        FailureClass.NOT_FOUND if "not an accepted value" in message else FailureClass.PROVIDER_RULE
    )
    return ProviderError(
        message, failure_class=failure_class, transient=False, http_status=http_status, reference=ruid
    )


def succeeded(body: Any, http_status: int) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ProviderError(
            "unexpected response shape: not an object",
            failure_class=FailureClass.PARSE,
            transient=False,
            http_status=http_status,
        )
    if _text(body.get("Status")).lower() != "success":
        raise failure(body, http_status)
    return body


def parse_created(body: dict[str, Any]) -> Created:
    # The public notes only say create "answers a photo batch id (Photo_Batch_Id)": read it where it stands.
    data: dict[str, Any] = body["Data"] if isinstance(body.get("Data"), dict) else body
    batch_id = _text(data.get("Photo_Batch_Id") or data.get("photo_batch_id"))
    if not batch_id:
        raise ProviderError(
            "unexpected response shape: no Photo_Batch_Id",
            failure_class=FailureClass.PARSE,
            transient=False,
            http_status=200,
            reference=_text(body.get("Ruid")),
        )
    return Created(batch_id, _text(body.get("Ruid")))


def parse_pending(body: dict[str, Any]) -> Pending:
    entries = body.get("Data") or []
    if not isinstance(entries, list):
        raise ProviderError(
            "unexpected response shape: Data is not a list",
            failure_class=FailureClass.PARSE,
            transient=False,
            http_status=200,
        )
    photos = [
        PendingPhoto(
            photo_pending_id=_text(entry.get("photo_pending_id")),
            status=_text(entry.get("status")).lower(),
            status_message=_text(entry.get("status_message")),
            photo_id=_text(entry.get("photo_id")),
            url=_text(entry.get("url")),
            request_timestamp=_text(entry.get("request_timestamp")),
        )
        for entry in entries
        if isinstance(entry, dict)
    ]
    return Pending(photos, _text(body.get("Ruid")))


def parse_property_photos(body: dict[str, Any]) -> list[PropertyPhoto]:
    return [
        PropertyPhoto(
            photo_id=_text(entry.get("photo_id")),
            url=_text(entry.get("url")),
            tags=[tag for tag in entry.get("tags") or [] if isinstance(tag, int)],
        )
        for entry in body.get("Data") or []
        if isinstance(entry, dict)
    ]
