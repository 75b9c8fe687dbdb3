"""The RecoveryConnect API an app calls (auth, list photos, transfer photos) and the photo links it hands
out."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from typing import Any

from integrations.recoveryconnect.simulator.demo import photo_jpeg
from integrations.recoveryconnect.simulator.state import (
    SimOrder,
    SimPhoto,
    SimRecovery,
    Transfer,
    _Store,
)
from integrations.simkit import BadRequestError, SimRequest, SimResponse, json_response, text_response

PHOTO_URL_TTL_S = 900
_INVALID = "The given data was invalid."


def _storage_error(status: int, code: str, message: str) -> SimResponse:
    # Pre-signed links are served by object storage, which answers in its own XML, not the API's JSON.
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
    body += "</Error>"
    return text_response(status, body, "application/xml")


def _invalid(field_name: str, message: str) -> SimResponse:
    return json_response(422, {"message": _INVALID, "errors": {field_name: [message]}})


class _Api(_Store):
    """The versioned API routes, behind the bearer token, and the signed photo files."""

    def _auth(self, request: SimRequest) -> SimResponse:
        body = _json_object(request)
        missing = [
            name for name in ("username", "password") if not isinstance(body.get(name), str) or not body[name]
        ]
        if missing:
            errors = {name: [f"The {name} field is required."] for name in missing}
            return json_response(422, {"message": _INVALID, "errors": errors})
        # Compared as bytes: compare_digest refuses non-ASCII str, and a login must never answer 500.
        username_ok = hmac.compare_digest(body["username"].encode(), self.username.encode())
        if not (username_ok and hmac.compare_digest(body["password"].encode(), self.password.encode())):
            return json_response(401, {"message": "Invalid credentials."})
        access_token = secrets.token_urlsafe(32)
        self.tokens[access_token] = self.clock.now() + self.token_ttl_s
        self.auth_count += 1
        return json_response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.token_ttl_s,
                "access_token": access_token,
                "refresh_token": secrets.token_urlsafe(32),  # issued as documented; no refresh call exists
            },
        )

    def _authorized(self, request: SimRequest) -> bool:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        expires_at = self.tokens.get(token.strip())
        return scheme.lower() == "bearer" and expires_at is not None and self.clock.now() < expires_at

    def _order_or_error(self, request: SimRequest, order_id: str) -> SimOrder | SimResponse:
        # Auth is checked before the order exists, as an API behind auth middleware does.
        if not self._authorized(request):
            return json_response(401, {"message": "Unauthenticated."})
        order = self.orders.get(int(order_id))
        return order if order is not None else json_response(404, {"message": "Order not found."})

    def _list_photos(self, request: SimRequest, order_id: str) -> SimResponse:
        order = self._order_or_error(request, order_id)
        if isinstance(order, SimResponse):
            return order
        return self._photos_answer(request, order, order.photos)

    def _photos_answer(self, request: SimRequest, order: SimOrder, photos: list[SimPhoto]) -> SimResponse:
        data = [
            {
                "id": photo.id,
                "type": {"id": photo.type_id, "name": photo.type_name},
                "order_id": order.internal_id,
                "name": photo.name,
                "photo_url": self._signed_url(request, f"/photos/{photo.id}.jpg", PHOTO_URL_TTL_S),
            }
            for photo in photos
        ]
        return json_response(200, {"data": data})

    def _sign(self, path: str, expires: int) -> str:
        return hmac.new(self._signing_key, f"{path}:{expires}".encode(), hashlib.sha256).hexdigest()

    def _signed_url(self, request: SimRequest, path: str, ttl_s: int) -> str:
        # A pre-signed, short-lived URL of a file under the mount (a photo, a document), served until it
        # expires on the simulator clock. The path is signed, so one file's link opens no other.
        expires = int(self.clock.now()) + ttl_s
        base = self.files_base_url or f"http://{request.header('Host') or '127.0.0.1'}{self.mount_prefix}"
        return f"{base}{path}?expires={expires}&signature={self._sign(path, expires)}"

    def _link_refused(self, request: SimRequest, path: str) -> SimResponse | None:
        """Storage's answer to a link to `path` whose signature is off or whose time is up; None when it
        holds. The link is the credential: no bearer token is asked for, as with any pre-signed URL."""
        expires_text, signature = request.query.get("expires", ""), request.query.get("signature", "")
        expected = self._sign(path, int(expires_text)) if expires_text.isdigit() else ""
        if not expected or not hmac.compare_digest(signature.encode(), expected.encode()):
            return _storage_error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
        if self.clock.now() > int(expires_text):
            return _storage_error(403, "AccessDenied", "Request has expired")
        return None

    def _photo_file(self, request: SimRequest, photo_id: str) -> SimResponse:
        refused = self._link_refused(request, f"/photos/{int(photo_id)}.jpg")
        if refused is not None:
            return refused
        photo = self._find_photo(int(photo_id))
        broken = self.broken_photos.get(int(photo_id))
        if photo is None or broken == "missing":
            return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
        content = photo.content if photo.content is not None else photo_jpeg(photo.id, photo.name)
        if broken == "html":
            return text_response(200, "<html><body>Service unavailable</body></html>", "text/html")
        if broken == "corrupt":
            # A JPEG's first bytes, then noise: what a cut-off or damaged upload looks like.
            return SimResponse(200, {"Content-Type": "image/jpeg"}, content[:200] + b"\x00garbage" * 50)
        return SimResponse(200, {"Content-Type": "image/jpeg"}, content)

    def _transfer_all(self, request: SimRequest, order_id: str) -> SimResponse:
        order = self._order_or_error(request, order_id)
        if isinstance(order, SimResponse):
            return order
        return self._transfer(request, order, list(order.photos))

    def _transfer_one(self, request: SimRequest, order_id: str, photo_id: str) -> SimResponse:
        order = self._order_or_error(request, order_id)
        if isinstance(order, SimResponse):
            return order
        photo = next((p for p in order.photos if p.id == int(photo_id)), None)
        if photo is None:
            return json_response(404, {"message": "Photo not found."})
        return self._transfer(request, order, [photo])

    def _transfer(self, request: SimRequest, order: SimOrder, photos: list[SimPhoto]) -> SimResponse:
        destinations = _transfer_to(request)
        if isinstance(destinations, SimResponse):
            return destinations
        # One orders[] entry per photo and destination, as in the doc's transfer-all example.
        entries = []
        for photo in photos:
            for dest_id in destinations:
                ok = self._copy(order, photo, dest_id)
                if photo.id not in self.omit_photo_ids:
                    status = "success" if ok else "fail"
                    entries.append({"id": dest_id, "attachments": [{"id": photo.id, "status": status}]})
        return json_response(200, {"orders": entries})

    def _copy(self, source: SimOrder, photo: SimPhoto, dest_client_order_id: int) -> bool:
        dest = self._by_client_id(dest_client_order_id)
        if dest is None or dest.closed or photo.locked or dest is source:
            return False
        new_id = self._new_photo_id()
        dest.photos.append(
            SimPhoto(new_id, photo.name, photo.type_id, photo.type_name, content=photo.content)
        )
        self.transfers.append(
            Transfer(source.internal_id, photo.id, dest_client_order_id, new_id, self.clock.now())
        )
        return True

    # --- Recoveries, their photos and uploads ------------------------------------------------------

    def _recovery_or_error(
        self, request: SimRequest, order_id: str, recovery_id: str
    ) -> tuple[SimOrder, SimRecovery] | SimResponse:
        order = self._order_or_error(request, order_id)
        if isinstance(order, SimResponse):
            return order
        recovery = next((r for r in order.recoveries if r.id == int(recovery_id)), None)
        if recovery is None:
            return json_response(404, {"message": "Recovery not found."})
        return order, recovery

    def _list_recoveries(self, request: SimRequest, order_id: str) -> SimResponse:
        order = self._order_or_error(request, order_id)
        if isinstance(order, SimResponse):
            return order
        data = [
            {
                "id": recovery.id,
                "order_id": order.internal_id,
                "created_at": recovery.created_at,
                "is_active": "1" if recovery.is_active else "0",
            }
            for recovery in order.recoveries
        ]
        return json_response(200, {"data": data})

    def _list_recovery_photos(self, request: SimRequest, order_id: str, recovery_id: str) -> SimResponse:
        found = self._recovery_or_error(request, order_id, recovery_id)
        if isinstance(found, SimResponse):
            return found
        order, recovery = found
        return self._photos_answer(request, order, recovery.photos)

    def _upload(self, request: SimRequest, order_id: str, recovery_id: str) -> SimResponse:
        return self._store_upload(request, order_id, recovery_id, personal=False)

    def _upload_personal(self, request: SimRequest, order_id: str, recovery_id: str) -> SimResponse:
        return self._store_upload(request, order_id, recovery_id, personal=True)

    def _store_upload(
        self, request: SimRequest, order_id: str, recovery_id: str, *, personal: bool
    ) -> SimResponse:
        found = self._recovery_or_error(request, order_id, recovery_id)
        if isinstance(found, SimResponse):
            return found
        order, recovery = found
        body = _json_object(request)
        checked = _upload_body(body, type_required=not personal)
        if isinstance(checked, SimResponse):
            return checked
        content, type_id = checked
        # The type's name as the order's other photos carry it (the simulator keeps no list of types).
        known = {p.type_id: p.type_name for p in order.photos}
        type_name = known.get(type_id, f"Type {type_id}") if type_id is not None else ""
        photo = SimPhoto(self._new_photo_id(), body["file_name"], type_id, type_name, content=content)
        order.photos.append(photo)
        (recovery.personals if personal else recovery.photos).append(photo)
        self.uploads.append(
            {
                "order_id": order.internal_id,
                "recovery_id": recovery.id,
                "attachment_id": photo.id,
                "file_name": body["file_name"],
                "image_name": body["image_name"],
                "picture_time": body["picture_time"],
                "type": type_id,
                "personal": personal,
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
            }
        )
        data = {
            "order_id": order.internal_id,
            "attachment_id": photo.id,
            "recovery_id": recovery.id,
            "file_name": body["file_name"],
            "picture_time": body["picture_time"],
        }
        return json_response(200, {"data": data, "status": "success"} if personal else {"data": data})


def _json_object(request: SimRequest) -> dict[str, Any]:
    # An unreadable body counts as empty input, so the "required" messages answer it (422, not 400).
    try:
        body = request.json()
    except BadRequestError:
        return {}
    return body if isinstance(body, dict) else {}


def _transfer_to(request: SimRequest) -> list[int] | SimResponse:
    value = _json_object(request).get("transfer_to")
    if value is None or value == []:
        return _invalid("transfer_to", "The transfer to field is required.")
    if not isinstance(value, list):
        return _invalid("transfer_to", "The transfer to must be an array.")
    for index, item in enumerate(value):
        # bool is an int subclass in Python; JSON true is not a client order id.
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            return _invalid("transfer_to", f"The transfer_to.{index} must be a positive integer.")
    return list(value)


def _upload_body(body: dict[str, Any], *, type_required: bool) -> tuple[bytes, int | None] | SimResponse:
    """The decoded picture and type of an upload's body, or the 422 naming every field in error."""
    errors: dict[str, list[str]] = {}
    for name in ("file_name", "image_name", "picture_time", "data"):
        if not isinstance(body.get(name), str) or not body[name]:
            errors[name] = [f"The {name.replace('_', ' ')} field is required."]
    if "picture_time" not in errors:
        try:
            time.strptime(body["picture_time"], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            errors["picture_time"] = ["The picture time does not match the format Y-m-d H:i:s."]
    content = b""
    if "data" not in errors:
        try:
            content = base64.b64decode(body["data"], validate=True)
        except (binascii.Error, ValueError):
            errors["data"] = ["The data must be a valid base64 string."]
    type_id = body.get("type")
    if type_id is None and type_required:
        errors["type"] = ["The type field is required."]
    elif type_id is not None and (isinstance(type_id, bool) or not isinstance(type_id, int)):
        errors["type"] = ["The type must be an integer."]
    if errors:
        return json_response(422, {"message": _INVALID, "errors": errors})
    return content, type_id
