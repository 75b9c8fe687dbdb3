"""The SU API photo endpoints an app calls: create, pendingImages, retrieveAll, delete, retrieveTags, each
answering in the provider's Success / Fail envelope (the gallery's other verbs are in gallery.py)."""

from __future__ import annotations

import base64
import hmac
import secrets
from typing import Any

from integrations.simkit import BadRequestError, SimRequest, SimResponse, json_response
from integrations.suapi.simulator.state import (
    SAMPLE_PREFIX,
    TAGS,
    SimBatch,
    SimPendingPhoto,
    SimPhoto,
    SimProperty,
    _random_id,
    _Store,
)

_BAD_AUTH = "Invalid app-id or API key"
_NO_PHOTOS = "Photos data not found"


def _ruid() -> str:
    return base64.b64encode(secrets.token_bytes(45)).decode("ascii")


def _fail(code: str, short_text: str, http_status: int = 200) -> SimResponse:
    # Business errors are HTTP 200: a client must read Status, as the docs warn.
    body = {"Errors": [{"Code": code, "ShortText": short_text}], "Status": "Fail", "Ruid": ""}
    return json_response(http_status, body)


class _Api(_Store):
    """The routes under the API prefix, behind the app-id and key headers."""

    def _authorized(self, request: SimRequest) -> bool:
        # Compared as bytes: compare_digest refuses non-ASCII str, and a bad header must never answer 500.
        app_id, key = request.header("app-id") or "", request.header("Authorization") or ""
        app_ok = hmac.compare_digest(app_id.encode(), self.app_id.encode())
        return hmac.compare_digest(key.encode(), self.api_key.encode()) and app_ok

    def _read(self, request: SimRequest) -> dict[str, Any] | SimResponse:
        if not self._authorized(request):
            return _fail("401", _BAD_AUTH, 401)
        try:
            body = request.json()
        except BadRequestError as error:
            return _fail("400", str(error), 400)
        if not isinstance(body, dict):
            return _fail("400", "Request body must be a JSON object", 400)
        return body

    def _property(self, body: dict[str, Any]) -> SimProperty | SimResponse:
        hotel_id, channel_hotel_id = _text(body.get("hotel_id")), _text(body.get("channel_hotel_id"))
        prop = self.properties.get(hotel_id)
        if prop is None:
            return _fail("400", f"HotelCode: Invalid HotelCode ('{hotel_id}')")
        if channel_hotel_id != prop.channel_hotel_id:
            return _fail("573", "channel-mapping not found for this property!")
        return prop

    def _request(self, request: SimRequest) -> tuple[dict[str, Any], SimProperty] | SimResponse:
        body = self._read(request)
        if isinstance(body, SimResponse):
            return body
        prop = self._property(body)
        return prop if isinstance(prop, SimResponse) else (body, prop)

    def _photo_request(
        self, request: SimRequest
    ) -> tuple[dict[str, Any], SimProperty, SimPhoto] | SimResponse:
        """A call about one photo of the property (`photo_id`): 578 when the property holds no such photo."""
        target = self._request(request)
        if isinstance(target, SimResponse):
            return target
        body, prop = target
        photo = prop.find(_text(body.get("photo_id")))
        return (body, prop, photo) if photo is not None else _fail("578", _NO_PHOTOS)

    def _create(self, request: SimRequest) -> SimResponse:
        target = self._request(request)
        if isinstance(target, SimResponse):
            return target
        body, prop = target
        images = body.get("images")
        if not isinstance(images, list) or not images:
            return _fail("578", _NO_PHOTOS)
        specs: list[tuple[str, list[int]]] = []
        unknown: list[str] = []
        for index, image in enumerate(images):
            url = image.get("url") if isinstance(image, dict) else None
            if not isinstance(url, str) or not url.strip():
                return _fail("400", f"images[{index}].url: a photo URL is required")
            tags = image.get("tags") or []
            tags = tags if isinstance(tags, list) else [tags]
            unknown += [str(tag) for tag in tags if not _is_int(tag) or tag not in TAGS]
            specs.append((url.strip(), [tag for tag in tags if _is_int(tag)]))
        if unknown:
            return _fail("574", f"Invalid image tags: {', '.join(dict.fromkeys(unknown))}")
        now = self.clock.now()
        batch = SimBatch(self._new_batch_id(), prop.hotel_id, now)
        batch.photos = [SimPendingPhoto(_random_id(), url, tags, now) for url, tags in specs]
        self.batches[batch.batch_id] = batch
        prop.batches.append(batch)
        return json_response(
            200,
            {
                "Status": "Success",
                "Data": {"Photo_Batch_Id": batch.batch_id},
                "Message": "Photo batch created successfully",
                "Ruid": _ruid(),
            },
        )

    def _new_batch_id(self) -> str:
        while (batch_id := _random_id()) in self.batches:
            pass
        return batch_id

    def _pending(self, request: SimRequest) -> SimResponse:
        target = self._request(request)
        if isinstance(target, SimResponse):
            return target
        body, prop = target
        batch_id, now = _text(body.get("photo_batch_id")), self.clock.now()
        batch = self.batches.get(batch_id)
        if batch is None or batch.hotel_id != prop.hotel_id or batch.expired(now):
            message = f"'{batch_id}' is not an accepted value for key main_photo"
            return json_response(200, {"Status": "Fail", "Errors": [], "Message": message, "Ruid": _ruid()})
        return json_response(
            200,
            {
                "Status": "Success",
                "Data": [self._pending_dict(photo, now) for photo in batch.photos],
                "Message": "Property Pending Images Fetched Successfully",
                "Ruid": _ruid(),
            },
        )

    def _retrieve_all(self, request: SimRequest) -> SimResponse:
        target = self._request(request)
        if isinstance(target, SimResponse):
            return target
        prop = target[1]
        if not prop.photos:
            return _fail("578", _NO_PHOTOS)
        data = [self._photo_dict(request, photo) for photo in prop.photos]
        return json_response(200, {"Status": "Success", "Data": data, "Ruid": _ruid()})

    def _photo_dict(self, request: SimRequest, photo: SimPhoto) -> dict[str, Any]:
        # sample_url: a public watermarked preview this simulator serves itself, no credentials needed.
        host = request.header("Host") or "localhost"
        sample = f"http://{host}{self.mount_prefix}{SAMPLE_PREFIX}/{photo.photo_id}.jpg"
        return {"url": photo.url, "sample_url": sample, "photo_id": photo.photo_id, "tags": list(photo.tags)}

    def _delete(self, request: SimRequest) -> SimResponse:
        target = self._photo_request(request)
        if isinstance(target, SimResponse):
            return target
        _body, prop, photo = target
        if photo.is_main and prop.open:
            return _fail("400", "The main photo of an open property cannot be deleted")
        prop.remove(photo)
        return json_response(
            200, {"Status": "Success", "Message": "Photo deleted successfully", "Ruid": _ruid()}
        )

    def _retrieve_tags(self, request: SimRequest) -> SimResponse:
        if not self._authorized(request):
            return _fail("401", _BAD_AUTH, 401)
        data = [{"tag_id": tag_id, "tag_name": name} for tag_id, name in sorted(TAGS.items())]
        return json_response(200, {"Status": "Success", "Data": data, "Ruid": _ruid()})


def _is_int(value: Any) -> bool:
    # bool is an int subclass in Python; JSON true is not a tag id.
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any) -> str:
    # Ids are strings on the wire, but a client may send 12837615 as a number; both name the same property.
    if isinstance(value, str):
        return value
    return str(value) if _is_int(value) else ""
