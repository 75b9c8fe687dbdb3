"""In-memory stand-in for MBSI RecoveryConnect (auth, list photos, transfer photos), reached over real HTTP.

Wire formats follow docs/providers/recoveryconnect.md. MBSI does not publish its
error bodies, so the 401/404/422 shapes below are our choice (Laravel-style, which the API's style suggests).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from integrations.simkit import (
    BadRequestError,
    Clock,
    SimRequest,
    SimResponse,
    SimulatorApp,
    json_response,
    labelled_jpeg,
    text_response,
)

FIRST_PHOTO_ID = 180461370
PHOTO_URL_TTL_S = 900
# Where run_simulators mounts this app; photo links carry it, and the file route accepts any prefix.
DEFAULT_MOUNT_PREFIX = "/recoveryconnect"
PHOTO_SIZE = (1024, 768)
# What a broken photo link serves instead of the picture (the behaviour knob "broken_photos").
BROKEN_KINDS = ("corrupt", "missing", "html")

# (internal order id, client order id, closed): the Django demo loader mirrors these ids.
DEMO_ORDERS: list[tuple[int, int, bool]] = [
    (57076503, 9100001, False),
    (57076504, 9100002, False),
    (57076505, 9100003, True),
    (57076506, 9100004, False),
    (57076507, 9100005, False),
]
_DAMAGE = {"type_id": 3, "type_name": "Damage"}
_DEMO_PHOTOS: dict[int, list[dict[str, Any]]] = {
    57076503: [
        {"name": "front.jpg"},
        {"name": "rear.jpg"},
        {"name": "vin.jpg"},
        {"name": "damage-left.jpg", **_DAMAGE},
    ],
    57076504: [{"name": "front.jpg"}, {"name": "odometer.jpg", "locked": True}],
    57076505: [{"name": "front.jpg"}],
    57076507: [{"name": "front.jpg"}, {"name": "plate.jpg"}, {"name": "damage-rear.jpg", **_DAMAGE}],
}

_INVALID = "The given data was invalid."


def photo_jpeg(photo_id: int, name: str) -> bytes:
    """What a photo link serves: a real 1024x768 JPEG of its own colour with the photo's name on it."""
    return labelled_jpeg(name.rsplit(".", 1)[0], f"photo {photo_id}", size=PHOTO_SIZE)


def _storage_error(status: int, code: str, message: str) -> SimResponse:
    # Pre-signed links are served by object storage, which answers in its own XML, not the API's JSON.
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
    body += "</Error>"
    return text_response(status, body, "application/xml")


@dataclass
class SimPhoto:
    id: int
    name: str
    type_id: int = 2
    type_name: str = "Vehicle"
    locked: bool = False


@dataclass
class SimOrder:
    internal_id: int
    client_order_id: int
    closed: bool = False
    photos: list[SimPhoto] = field(default_factory=list)


@dataclass(frozen=True)
class Transfer:
    source_order_id: int
    photo_id: int
    dest_client_order_id: int
    new_photo_id: int
    at: float


def _invalid(field_name: str, message: str) -> SimResponse:
    return json_response(422, {"message": _INVALID, "errors": {field_name: [message]}})


class RecoveryConnectSimulator(SimulatorApp):
    def __init__(
        self,
        username: str = "demo",
        password: str = "demo-password",  # noqa: S107 - the simulator's well-known demo credential
        *,
        token_ttl_s: int = 3600,
        files_base_url: str | None = None,
        mount_prefix: str = DEFAULT_MOUNT_PREFIX,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock)
        self.username, self.password = username, password
        # Unset: links point back at this simulator (the Host it was called on, under mount_prefix).
        self.files_base_url = files_base_url
        self.mount_prefix = mount_prefix.rstrip("/")
        self._default_ttl = token_ttl_s
        self._signing_key = secrets.token_bytes(16)
        self._clear_state()
        # Exact paths from the docs; "transfer" is routed before the numeric photo id.
        self.add_route("POST", "/api/v140/auth", self._auth)
        self.add_route("GET", r"/api/v140/orders/(?P<order_id>\d+)/photos", self._list_photos)
        self.add_route("PUT", r"/api/v130/orders/(?P<order_id>\d+)/photos/transfer", self._transfer_all)
        self.add_route(
            "PUT", r"/api/v130/orders/(?P<order_id>\d+)/photos/(?P<photo_id>\d+)", self._transfer_one
        )
        # Any leading path: served at the root by serve(), a link still carries the mounted path.
        self.add_route("GET", r"(?:/[\w.-]+)*/photos/(?P<photo_id>\d+)\.jpg", self._photo_file)
        self.add_route("POST", "/_sim/recoveryconnect/orders", self._control_add_order)
        self.add_route("GET", "/_sim/recoveryconnect/orders", self._control_orders)
        self.add_route("POST", "/_sim/recoveryconnect/seed-demo", self._control_seed_demo)
        self.add_route("GET", "/_sim/recoveryconnect/transfers", self._control_transfers)
        self.add_route("GET", "/_sim/recoveryconnect/behaviour", lambda request: self._behaviour_response())
        self.add_route("POST", "/_sim/recoveryconnect/behaviour", self._control_behaviour)

    def _clear_state(self) -> None:
        self.orders: dict[int, SimOrder] = {}
        self.tokens: dict[str, float] = {}  # access token -> expiry on self.clock
        self.transfers: list[Transfer] = []
        self.auth_count = 0
        self.token_ttl_s = self._default_ttl
        self.omit_photo_ids: set[int] = set()
        self.broken_photos: dict[int, str] = {}  # photo id -> one of BROKEN_KINDS
        self._next_photo_id = FIRST_PHOTO_ID

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._clear_state()

    # --- state helpers (tests call these directly) ---

    def add_order(
        self,
        internal_id: int,
        client_order_id: int,
        *,
        closed: bool = False,
        photos: list[dict[str, Any]] | None = None,
    ) -> SimOrder:
        with self.lock:
            if internal_id in self.orders or self._by_client_id(client_order_id) is not None:
                raise ValueError(f"Order {internal_id} / client {client_order_id} already exists.")
            order = SimOrder(int(internal_id), int(client_order_id), bool(closed))
            for spec in photos or []:
                spec = dict(spec)
                photo_id = int(spec.pop("id", None) or self._new_photo_id())
                if self._find_photo(photo_id) is not None:
                    raise ValueError(f"Photo id {photo_id} is already used.")
                order.photos.append(SimPhoto(id=photo_id, **spec))
            self.orders[order.internal_id] = order
            return order

    def seed_demo(self) -> None:
        for internal_id, client_order_id, closed in DEMO_ORDERS:
            self.add_order(internal_id, client_order_id, closed=closed, photos=_DEMO_PHOTOS.get(internal_id))

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def _new_photo_id(self) -> int:
        while self._find_photo(self._next_photo_id) is not None:  # skip ids a test chose explicitly
            self._next_photo_id += 1
        self._next_photo_id += 1
        return self._next_photo_id - 1

    def _find_photo(self, photo_id: int) -> SimPhoto | None:
        return next((p for o in self.orders.values() for p in o.photos if p.id == photo_id), None)

    def _by_client_id(self, client_order_id: int) -> SimOrder | None:
        return next((o for o in self.orders.values() if o.client_order_id == client_order_id), None)

    # --- API routes ---

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

    # --- control routes ---

    def _control_add_order(self, request: SimRequest) -> SimResponse:
        body = request.json()
        try:
            order = self.add_order(**body) if isinstance(body, dict) else None
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        if order is None:
            return json_response(400, {"message": "Body must be a JSON object of add_order arguments."})
        return json_response(201, _order_dict(order))

    def _control_orders(self, request: SimRequest) -> SimResponse:
        return json_response(200, {"orders": [_order_dict(order) for order in self.orders.values()]})

    def _control_seed_demo(self, request: SimRequest) -> SimResponse:
        try:
            self.seed_demo()
        except ValueError as error:
            return json_response(409, {"message": str(error)})
        return json_response(200, {"orders": [_order_dict(order) for order in self.orders.values()]})

    def _control_transfers(self, request: SimRequest) -> SimResponse:
        return json_response(200, {"transfers": [vars(transfer) for transfer in self.transfers]})

    def _control_behaviour(self, request: SimRequest) -> SimResponse:
        body = request.json()
        allowed = {"omit_photo_ids", "garbage_next", "token_ttl_s", "broken_photos"}
        if not isinstance(body, dict) or not set(body) <= allowed:
            return json_response(400, {"message": f"Allowed keys: {', '.join(sorted(allowed))}."})
        broken = body.get("broken_photos", {})
        if not isinstance(broken, dict) or not set(broken.values()) <= set(BROKEN_KINDS):
            return json_response(
                400, {"message": f"broken_photos maps photo ids to one of {', '.join(BROKEN_KINDS)}."}
            )
        if body.get("garbage_next") not in (None, "html", "truncated"):
            return json_response(400, {"message": 'garbage_next must be null, "html" or "truncated".'})
        if "omit_photo_ids" in body:
            self.omit_photo_ids = {int(photo_id) for photo_id in body["omit_photo_ids"]}
        if "garbage_next" in body:
            self.garbage_next = body["garbage_next"]
        if "token_ttl_s" in body:
            self.token_ttl_s = int(body["token_ttl_s"])
        if "broken_photos" in body:
            self.broken_photos = {int(photo_id): kind for photo_id, kind in broken.items()}
        return self._behaviour_response()

    def _behaviour_response(self) -> SimResponse:
        return json_response(
            200,
            {
                "omit_photo_ids": sorted(self.omit_photo_ids),
                "garbage_next": self.garbage_next,
                "token_ttl_s": self.token_ttl_s,
                "broken_photos": {str(k): v for k, v in sorted(self.broken_photos.items())},
            },
        )


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


def _order_dict(order: SimOrder) -> dict[str, Any]:
    return {
        "internal_id": order.internal_id,
        "client_order_id": order.client_order_id,
        "closed": order.closed,
        "photos": [vars(photo) for photo in order.photos],
    }
