"""The RecoveryConnect API an app calls (auth, list photos, transfer photos) and the photo links it hands
out."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from integrations.recoveryconnect.simulator.demo import photo_jpeg
from integrations.recoveryconnect.simulator.state import SimOrder, SimPhoto, Transfer, _Store
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
        data = [
            {
                "id": photo.id,
                "type": {"id": photo.type_id, "name": photo.type_name},
                "order_id": order.internal_id,
                "name": photo.name,
                "photo_url": self._photo_url(request, photo.id),
            }
            for photo in order.photos
        ]
        return json_response(200, {"data": data})

    def _sign(self, photo_id: int, expires: int) -> str:
        return hmac.new(self._signing_key, f"{photo_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def _photo_url(self, request: SimRequest, photo_id: int) -> str:
        # A pre-signed, short-lived URL, served by _photo_file until it expires (on the simulator clock).
        expires = int(self.clock.now()) + PHOTO_URL_TTL_S
        base = self.files_base_url or f"http://{request.header('Host') or '127.0.0.1'}{self.mount_prefix}"
        return f"{base}/photos/{photo_id}.jpg?expires={expires}&signature={self._sign(photo_id, expires)}"

    def _photo_file(self, request: SimRequest, photo_id: str) -> SimResponse:
        # The link is the credential: no bearer token is asked for, as with any pre-signed storage URL.
        expires_text, signature = request.query.get("expires", ""), request.query.get("signature", "")
        expected = self._sign(int(photo_id), int(expires_text)) if expires_text.isdigit() else ""
        if not expected or not hmac.compare_digest(signature.encode(), expected.encode()):
            return _storage_error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
        if self.clock.now() > int(expires_text):
            return _storage_error(403, "AccessDenied", "Request has expired")
        photo = self._find_photo(int(photo_id))
        broken = self.broken_photos.get(int(photo_id))
        if photo is None or broken == "missing":
            return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
        content = photo_jpeg(photo.id, photo.name)
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
        dest.photos.append(SimPhoto(new_id, photo.name, photo.type_id, photo.type_name))
        self.transfers.append(
            Transfer(source.internal_id, photo.id, dest_client_order_id, new_id, self.clock.now())
        )
        return True


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
