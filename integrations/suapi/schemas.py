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
    # A watermarked public preview Booking.com serves: what a thumbnail is made from.
    sample_url: str = ""


@dataclass(frozen=True)
class AssociatedPhoto:
    photo_id: str
    url: str
    name: str
    tags: list[int]


@dataclass(frozen=True)
class Associated:
    """retrieveAssociateImages: the main photo first, then the others in Booking.com's order."""

    main_photo: AssociatedPhoto | None
    is_ordered: bool
    other_photos: list[AssociatedPhoto]

    @property
    def photo_ids(self) -> list[str]:
        main = [self.main_photo.photo_id] if self.main_photo else []
        return main + [photo.photo_id for photo in self.other_photos if photo.photo_id not in main]


@dataclass(frozen=True)
class Tag:
    tag_id: int
    name: str


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


def _tag_ids(value: Any) -> list[int]:
    return [tag for tag in value or [] if isinstance(tag, int) and not isinstance(tag, bool)]


def _property_photo(entry: dict[str, Any]) -> PropertyPhoto:
    return PropertyPhoto(
        photo_id=_text(entry.get("photo_id")),
        url=_text(entry.get("url")),
        tags=_tag_ids(entry.get("tags")),
        sample_url=_text(entry.get("sample_url")),
    )


def _shape_error(what: str) -> ProviderError:
    return ProviderError(
        f"unexpected response shape: {what}",
        failure_class=FailureClass.PARSE,
        transient=False,
        http_status=200,
    )


def parse_property_photos(body: dict[str, Any]) -> list[PropertyPhoto]:
    entries = body.get("Data") or []
    if not isinstance(entries, list):
        raise _shape_error("Data is not a list")
    return [_property_photo(entry) for entry in entries if isinstance(entry, dict) and entry.get("photo_id")]


def parse_property_photo(body: dict[str, Any]) -> PropertyPhoto:
    """show: the same fields for one photo, as an object or a list of one."""
    data = body.get("Data")
    if isinstance(data, list):
        data = data[0] if data else None
    if not isinstance(data, dict) or not data.get("photo_id"):
        raise _shape_error("no photo in Data")
    return _property_photo(data)


def _associated_photo(entry: Any) -> AssociatedPhoto | None:
    if not isinstance(entry, dict) or not entry.get("photo_id"):
        return None
    return AssociatedPhoto(
        photo_id=_text(entry.get("photo_id")),
        url=_text(entry.get("url")),
        name=_text(entry.get("name")),
        tags=_tag_ids(entry.get("tags")),
    )


def parse_associated(body: dict[str, Any]) -> Associated:
    data = body.get("Data") or {}
    if not isinstance(data, dict):
        raise _shape_error("Data is not an object")
    others = data.get("other_photos") or []
    if not isinstance(others, list):
        raise _shape_error("other_photos is not a list")
    return Associated(
        main_photo=_associated_photo(data.get("main_photo")),
        is_ordered=bool(data.get("is_ordered")),
        other_photos=[photo for photo in map(_associated_photo, others) if photo is not None],
    )


def parse_tags(body: dict[str, Any]) -> list[Tag]:
    """retrieveTags: each tag's id and name (`tag_id`/`tag_name`, or `id`/`name`)."""
    entries = body.get("Data") or []
    if not isinstance(entries, list):
        raise _shape_error("Data is not a list")
    tags = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        tag_id = entry.get("tag_id", entry.get("id"))
        name = _text(entry.get("tag_name", entry.get("name"))).strip()
        if isinstance(tag_id, str) and tag_id.isdigit():
            tag_id = int(tag_id)
        if isinstance(tag_id, int) and not isinstance(tag_id, bool) and name:
            tags.append(Tag(tag_id, name))
    return tags


def parse_message(body: dict[str, Any]) -> str:
    """An answer that carries nothing but its words ("Image Order Updated Successfully")."""
    return _text(body.get("Message")) or _text(body.get("Ruid"))
