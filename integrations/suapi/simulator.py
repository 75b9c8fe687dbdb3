"""In-memory stand-in for the SU API channel manager's Booking.com photo endpoints, reached over real HTTP.

Photos are sent as public URLs; the simulator really downloads and decodes them (with `requests` and Pillow)
when simulated processing time has passed, so a client meets every final status for real reasons.

Wire formats follow docs/providers/suapi.md. Where the public pages are silent, these are our
choices (keep the client tolerant of them, not dependent on them):
- a missing or wrong app-id / key is HTTP 401, an unreadable body HTTP 400, both in the coded Fail envelope;
- create answers `{"Status": "Success", "Data": {"Photo_Batch_Id"}, "Message", "Ruid"}`; an image without a
  URL string is Fail Code "400";
- an `ok` photo has status_message ""; a failed one names the reason in status_message;
- retrieveAll's `url` and `sample_url` are both the source URL (the simulator keeps no copy), `tags` the ids;
- retrieveTags answers `Data: [{"tag_id", "tag_name"}]`;
- delete answers `{"Status": "Success", "Message": "Photo deleted successfully", "Ruid"}` and refuses the
  main photo of an open property with Fail Code "400"; once a main photo is gone the oldest remaining is main;
- a photo over Booking.com's 50 MB limit ends as `error`;
- the verbs update, imageOrder, associate, unassociate and the Bearer-token scheme are not simulated (404).
"""

from __future__ import annotations

import base64
import datetime
import functools
import hmac
import io
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from PIL import Image, ImageDraw

from integrations.simkit import (
    BadRequestError,
    Clock,
    Outcome,
    SimRequest,
    SimResponse,
    SimulatorApp,
    json_response,
)

API_PREFIX = "/SUAPI/jservice/bdc/photo"
PENDING_PATH = f"{API_PREFIX}/pendingImages"
PROCESS_PATH = "/_sim/suapi/process"
PENDING_TTL_S = 7 * 86400
DOWNLOAD_TIMEOUT_S = 5.0
MAX_PHOTO_BYTES = 50 * 1024 * 1024  # Booking.com's limit; reading stops here, under the 60 MB we allow
MIN_SIDE, MAX_SIDE = 300, 14000
# Mean absolute difference (0-255) between two 16x16 thumbnails under which two pictures are the same;
# re-encoding stays around 1, distinct pictures are tens apart.
SAME_PICTURE_THRESHOLD = 4.0

# Booking.com photo tags (id -> name); the ids the app's demo uses are stable.
TAGS: dict[int, str] = {
    1: "Shower",
    3: "Toilet",
    4: "Patio",
    5: "Nearby landmark",
    6: "Staff",
    7: "Restaurant/places to eat",
    8: "Communal lounge/ TV room",
    10: "Facade/entrance",
    13: "Bed",
    14: "Off site",
    37: "Food close-up",
    41: "Breakfast",
    43: "Buffet breakfast",
    47: "Lobby or reception",
    53: "Swimming pool",
    55: "Garden",
    61: "Kitchen or kitchenette",
    70: "Living room",
    73: "Bathroom",
    76: "Balcony/Terrace",
    80: "Pool view",
    81: "Sea view",
    87: "Mountain view",
    94: "Parking",
    101: "Property building",
    107: "Bedroom",
    124: "Photo of the whole room",
}

# (hotel_id, channel_hotel_id): the Django demo loader mirrors these.
DEMO_PROPERTIES: list[tuple[str, str]] = [("NT7", "12837615"), ("NT8", "12837616")]
# NT7's photo already on Booking.com: the app's demo uploading demo_picture(0) again gets `duplicate`.
DEMO_PHOTO_ID = "Nt7DemoPic0"
DEMO_PHOTO_URL = "https://photos.sim.invalid/demo/0.jpg"
DEMO_PHOTO_TAGS = [101]

_BAD_AUTH = "Invalid app-id or API key"
_NO_PHOTOS = "Photos data not found"


@functools.lru_cache(maxsize=32)
def demo_picture(n: int, size: tuple[int, int] = (800, 600)) -> bytes:
    """A distinct, deterministic JPEG per `n`: a two-colour gradient under a few coloured rectangles."""
    rng = random.Random(n)
    width, height = size

    def colour() -> tuple[int, int, int]:
        return (rng.randrange(256), rng.randrange(256), rng.randrange(256))

    mask = Image.linear_gradient("L").resize(size)
    image = Image.composite(Image.new("RGB", size, colour()), Image.new("RGB", size, colour()), mask)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(max(1, width)), rng.randrange(max(1, height))
        x1 = x0 + rng.randrange(max(1, width // 8), max(2, width // 2))
        y1 = y0 + rng.randrange(max(1, height // 8), max(2, height // 2))
        draw.rectangle((x0, y0, x1, y1), fill=colour())
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def fingerprint(image: Image.Image) -> bytes:
    """A 16x16 RGB thumbnail: close for a re-encoded or resized copy, far apart for another picture."""
    return image.convert("RGB").resize((16, 16), Image.Resampling.BOX).tobytes()


def same_picture(first: bytes, second: bytes) -> bool:
    if len(first) != len(second) or not first:
        return False
    return sum(abs(a - b) for a, b in zip(first, second, strict=True)) / len(first) <= SAME_PICTURE_THRESHOLD


def picture_fingerprint(content: bytes) -> bytes:
    with Image.open(io.BytesIO(content)) as image:
        image.load()
        return fingerprint(image)


def _random_id(length: int = 11) -> str:
    # URL-safe like Booking.com's ids ("4EU2z7o-qUQ"); token_urlsafe gives about 4 chars per 3 bytes.
    return secrets.token_urlsafe(length)[:length]


def _size_text(size: int) -> str:
    mebibyte = 1024 * 1024
    return f"{size // mebibyte} MB" if size % mebibyte == 0 else f"{size} bytes"


def _ruid() -> str:
    return base64.b64encode(secrets.token_bytes(45)).decode("ascii")


def _timestamp(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _fail(code: str, short_text: str, http_status: int = 200) -> SimResponse:
    # Business errors are HTTP 200: a client must read Status, as the docs warn.
    body = {"Errors": [{"Code": code, "ShortText": short_text}], "Status": "Fail", "Ruid": ""}
    return json_response(http_status, body)


@dataclass
class SimPhoto:
    photo_id: str
    url: str
    tags: list[int]
    fingerprint: bytes = field(repr=False)
    is_main: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"photo_id": self.photo_id, "url": self.url, "tags": list(self.tags), "is_main": self.is_main}


@dataclass
class SimPendingPhoto:
    photo_pending_id: str
    url: str
    tags: list[int]
    created_at: float
    status: str | None = None  # the final status once processed; new / enqueued follow from the clock
    photo_id: str = ""
    status_message: str = ""
    claimed: bool = False  # a download is in flight, so a concurrent process_due() leaves it alone


@dataclass
class SimBatch:
    batch_id: str
    hotel_id: str
    created_at: float
    photos: list[SimPendingPhoto] = field(default_factory=list)

    def expired(self, now: float) -> bool:
        return now >= self.created_at + PENDING_TTL_S


@dataclass
class SimProperty:
    hotel_id: str
    channel_hotel_id: str
    open: bool = True
    photos: list[SimPhoto] = field(default_factory=list)
    batches: list[SimBatch] = field(default_factory=list)

    def find(self, photo_id: str) -> SimPhoto | None:
        return next((photo for photo in self.photos if photo.photo_id == photo_id), None)

    def same_as(self, thumbprint: bytes) -> SimPhoto | None:
        return next((photo for photo in self.photos if same_picture(photo.fingerprint, thumbprint)), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hotel_id": self.hotel_id,
            "channel_hotel_id": self.channel_hotel_id,
            "open": self.open,
            "photos": [photo.to_dict() for photo in self.photos],
            "batches": [batch.batch_id for batch in self.batches],
        }


@dataclass(frozen=True)
class Fetched:
    """What a download and decode found: a final status, or the picture's fingerprint to compare."""

    status: str | None
    message: str = ""
    thumbprint: bytes = b""


def _download(url: str, max_bytes: int) -> bytes | Fetched:
    deadline = time.monotonic() + DOWNLOAD_TIMEOUT_S
    try:
        with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT_S) as response:
            if not 200 <= response.status_code < 300:
                return Fetched("bad_url", f"Could not download the image: HTTP {response.status_code}")
            media_type = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
            if media_type.startswith("text/") or "html" in media_type:
                return Fetched("bad_url", f"Could not download the image: the URL answered {media_type}")
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    return Fetched("error", f"The image is larger than {_size_text(max_bytes)}")
                if time.monotonic() > deadline:  # a trickling server must not hold processing forever
                    return Fetched("bad_url", "Could not download the image: timed out")
                chunks.append(chunk)
            return b"".join(chunks)
    except requests.Timeout:
        return Fetched("bad_url", "Could not download the image: timed out")
    except (requests.RequestException, ValueError) as error:
        return Fetched("bad_url", f"Could not download the image: {type(error).__name__}")


def _inspect(content: bytes) -> Fetched:
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()
            width, height = image.size
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; such a picture is refused too.
            if Image.MAX_IMAGE_PIXELS is not None and width * height > Image.MAX_IMAGE_PIXELS:
                raise Image.DecompressionBombError(f"{width}x{height}")
            thumbprint = fingerprint(image)
    # Pillow's decoders raise many types on bad bytes (OSError, SyntaxError, ValueError...), and
    # DecompressionBombError / DecompressionBombWarning (an error under -W error) on huge ones.
    except Exception:
        return Fetched("error_decode", "The image could not be decoded")
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        message = (
            f"Image dimensions {width}x{height} are outside {MIN_SIDE}x{MIN_SIDE} to {MAX_SIDE}x{MAX_SIDE}"
        )
        return Fetched("error", message)
    return Fetched(None, thumbprint=thumbprint)


def fetch_photo(url: str, max_bytes: int = MAX_PHOTO_BYTES) -> Fetched:
    content = _download(url, max_bytes)
    return content if isinstance(content, Fetched) else _inspect(content)


def _fetch_safely(url: str, max_bytes: int) -> Fetched:
    try:
        return fetch_photo(url, max_bytes)
    except Exception as error:  # a surprise must end the photo as bad_url, not leave it claimed forever
        return Fetched("bad_url", f"Could not download the image: {type(error).__name__}")


class SuApiSimulator(SimulatorApp):
    def __init__(
        self,
        app_id: str = "demo-app",
        api_key: str = "demo-key",
        *,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock)
        self.app_id, self.api_key = app_id, api_key
        self._clear_state()
        self.add_route("POST", f"{API_PREFIX}/create", self._create)
        self.add_route("POST", PENDING_PATH, self._pending)
        self.add_route("POST", f"{API_PREFIX}/retrieveAll", self._retrieve_all)
        self.add_route("POST", f"{API_PREFIX}/delete", self._delete)
        self.add_route("GET", f"{API_PREFIX}/retrieveTags", self._retrieve_tags)
        self.add_route("GET", "/_sim/suapi/properties", self._control_properties)
        self.add_route("POST", "/_sim/suapi/properties", self._control_add_property)
        self.add_route("POST", "/_sim/suapi/seed-demo", self._control_seed_demo)
        self.add_route("POST", PROCESS_PATH, self._control_process)
        self.add_route("GET", "/_sim/suapi/batches", self._control_batches)
        self.add_route("GET", "/_sim/suapi/behaviour", lambda request: self._behaviour_response())
        self.add_route("POST", "/_sim/suapi/behaviour", self._control_behaviour)

    def _clear_state(self) -> None:
        self.properties: dict[str, SimProperty] = {}
        self.batches: dict[str, SimBatch] = {}
        self.downloads: list[tuple[str, str]] = []  # (url, final status) per processed photo
        self.enqueue_after_s: float = 2.0
        self.process_after_s: float = 6.0
        self.stall = False
        self.max_photo_bytes = MAX_PHOTO_BYTES

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._clear_state()

    def dispatch(self, request: SimRequest) -> Outcome:
        # Processing downloads photo URLs, which may point back at the app under test, which may call this
        # simulator from another server thread: the downloads run outside self.lock (process_due takes it
        # around state changes only), so these paths must not enter dispatch's locked section first.
        if request.method == "POST" and request.path == PROCESS_PATH:
            return self._route(request)
        if request.method == "POST" and request.path == PENDING_PATH:
            self.process_due()
        return super().dispatch(request)

    # --- state helpers (tests call these directly) ---

    def add_property(self, hotel_id: str, channel_hotel_id: str, *, open: bool = True) -> SimProperty:
        with self.lock:
            if str(hotel_id) in self.properties:
                raise ValueError(f"Property {hotel_id} already exists.")
            prop = SimProperty(str(hotel_id), str(channel_hotel_id), bool(open))
            self.properties[prop.hotel_id] = prop
            return prop

    def add_photo(
        self,
        hotel_id: str,
        url: str,
        content: bytes,
        *,
        tags: list[int] | None = None,
        photo_id: str | None = None,
    ) -> SimPhoto:
        """An already processed photo, as if uploaded earlier; `content` gives its fingerprint."""
        thumbprint = picture_fingerprint(content)
        with self.lock:
            prop = self.properties.get(hotel_id)
            if prop is None:
                raise ValueError(f"Property {hotel_id} does not exist.")
            return self._store_photo(prop, url, list(tags or []), thumbprint, photo_id)

    def seed_demo(self) -> None:
        for hotel_id, channel_hotel_id in DEMO_PROPERTIES:
            self.add_property(hotel_id, channel_hotel_id)
        self.add_photo(
            DEMO_PROPERTIES[0][0],
            DEMO_PHOTO_URL,
            demo_picture(0),
            tags=DEMO_PHOTO_TAGS,
            photo_id=DEMO_PHOTO_ID,
        )

    def process_due(self) -> list[SimPendingPhoto]:
        """Download and judge every photo whose processing time has come; returns the photos settled.

        This stands for Booking.com's background work, so any pendingImages call runs it first (whether or
        not that call is then authorised or faulted), and tests may call it directly."""
        with self.lock:
            if self.stall:
                return []
            now, max_bytes = self.clock.now(), self.max_photo_bytes
            due = [
                (batch, photo)
                for batch in self.batches.values()
                if not batch.expired(now)
                for photo in batch.photos
                if photo.status is None
                and not photo.claimed
                and now >= photo.created_at + self.process_after_s
            ]
            for _, photo in due:
                photo.claimed = True
        fetched = [(batch, photo, _fetch_safely(photo.url, max_bytes)) for batch, photo in due]
        settled = []
        with self.lock:
            # In order, under the lock: of two copies of one picture, the first is ok, the second a duplicate.
            for batch, photo, result in fetched:
                prop = self.properties.get(batch.hotel_id)
                if self.batches.get(batch.batch_id) is not batch or prop is None:
                    continue  # reset() ran during the download: this batch is gone
                self._settle(prop, photo, result)
                self.downloads.append((photo.url, str(photo.status)))
                settled.append(photo)
        return settled

    def _settle(self, prop: SimProperty, photo: SimPendingPhoto, result: Fetched) -> None:
        photo.claimed = False
        if result.status is not None:
            photo.status, photo.status_message = result.status, result.message
            return
        original = prop.same_as(result.thumbprint)
        if original is not None:
            photo.status, photo.photo_id = "duplicate", original.photo_id
            photo.status_message = (
                f"This is a duplicate photo. The original photo id is : {original.photo_id}"
            )
            return
        stored = self._store_photo(prop, photo.url, photo.tags, result.thumbprint, None)
        photo.status, photo.photo_id, photo.status_message = "ok", stored.photo_id, ""

    def _store_photo(
        self, prop: SimProperty, url: str, tags: list[int], thumbprint: bytes, photo_id: str | None
    ) -> SimPhoto:
        if photo_id is not None and self._photo_id_used(photo_id):
            raise ValueError(f"Photo id {photo_id} is already used.")
        while photo_id is None or self._photo_id_used(photo_id):
            photo_id = _random_id()
        photo = SimPhoto(photo_id, url, tags, thumbprint, is_main=not prop.photos)
        prop.photos.append(photo)
        return photo

    def _photo_id_used(self, photo_id: str) -> bool:
        return any(prop.find(photo_id) is not None for prop in self.properties.values())

    def _status(self, photo: SimPendingPhoto, now: float) -> str:
        if photo.status is not None:
            return photo.status
        return "enqueued" if now >= photo.created_at + self.enqueue_after_s else "new"

    def _pending_dict(self, photo: SimPendingPhoto, now: float) -> dict[str, Any]:
        # Key order as in the documented sample.
        return {
            "status_message": photo.status_message,
            "photo_id": photo.photo_id,
            "status": self._status(photo, now),
            "url": photo.url,
            "photo_pending_id": photo.photo_pending_id,
            "request_timestamp": _timestamp(photo.created_at),
        }

    # --- auth, bodies, properties ---

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

    # --- photo API ---

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
        data = [
            {"url": p.url, "sample_url": p.url, "photo_id": p.photo_id, "tags": list(p.tags)}
            for p in prop.photos
        ]
        return json_response(200, {"Status": "Success", "Data": data, "Ruid": _ruid()})

    def _delete(self, request: SimRequest) -> SimResponse:
        target = self._request(request)
        if isinstance(target, SimResponse):
            return target
        body, prop = target
        photo = prop.find(_text(body.get("photo_id")))
        if photo is None:
            return _fail("578", _NO_PHOTOS)
        if photo.is_main and prop.open:
            return _fail("400", "The main photo of an open property cannot be deleted")
        prop.photos.remove(photo)
        if photo.is_main and prop.photos:
            prop.photos[0].is_main = True
        return json_response(
            200, {"Status": "Success", "Message": "Photo deleted successfully", "Ruid": _ruid()}
        )

    def _retrieve_tags(self, request: SimRequest) -> SimResponse:
        if not self._authorized(request):
            return _fail("401", _BAD_AUTH, 401)
        data = [{"tag_id": tag_id, "tag_name": name} for tag_id, name in sorted(TAGS.items())]
        return json_response(200, {"Status": "Success", "Data": data, "Ruid": _ruid()})

    # --- control routes ---

    def _control_properties(self, request: SimRequest) -> SimResponse:
        return json_response(200, {"properties": [p.to_dict() for p in self.properties.values()]})

    def _control_add_property(self, request: SimRequest) -> SimResponse:
        body = request.json()
        try:
            if not isinstance(body, dict) or not {"hotel_id", "channel_hotel_id"} <= set(body):
                raise ValueError('Body must be {"hotel_id": .., "channel_hotel_id": .., "open": true}.')
            prop = self.add_property(
                body["hotel_id"], body["channel_hotel_id"], open=bool(body.get("open", True))
            )
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(201, prop.to_dict())

    def _control_seed_demo(self, request: SimRequest) -> SimResponse:
        try:
            self.seed_demo()
        except ValueError as error:
            return json_response(409, {"message": str(error)})
        return self._control_properties(request)

    def _control_process(self, request: SimRequest) -> SimResponse:
        settled = self.process_due()
        now = self.clock.now()
        return json_response(200, {"processed": [self._pending_dict(photo, now) for photo in settled]})

    def _control_batches(self, request: SimRequest) -> SimResponse:
        now = self.clock.now()
        batches = [
            {
                "photo_batch_id": batch.batch_id,
                "hotel_id": batch.hotel_id,
                "created_at": batch.created_at,
                "expired": batch.expired(now),
                "photos": [{**self._pending_dict(p, now), "tags": list(p.tags)} for p in batch.photos],
            }
            for batch in self.batches.values()
        ]
        return json_response(200, {"batches": batches})

    def _control_behaviour(self, request: SimRequest) -> SimResponse:
        body = request.json()
        allowed = {"enqueue_after_s", "process_after_s", "stall", "max_photo_bytes", "garbage_next"}
        if not isinstance(body, dict) or not set(body) <= allowed:
            return json_response(400, {"message": f"Allowed keys: {', '.join(sorted(allowed))}."})
        if body.get("garbage_next") not in (None, "html", "truncated"):
            return json_response(400, {"message": 'garbage_next must be null, "html" or "truncated".'})
        try:
            values = {
                "enqueue_after_s": float(body.get("enqueue_after_s", self.enqueue_after_s)),
                "process_after_s": float(body.get("process_after_s", self.process_after_s)),
                "max_photo_bytes": int(body.get("max_photo_bytes", self.max_photo_bytes)),
            }
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        self.enqueue_after_s = values["enqueue_after_s"]
        self.process_after_s = values["process_after_s"]
        self.max_photo_bytes = int(values["max_photo_bytes"])
        if "stall" in body:
            self.stall = bool(body["stall"])
        if "garbage_next" in body:
            self.garbage_next = body["garbage_next"]
        return self._behaviour_response()

    def _behaviour_response(self) -> SimResponse:
        return json_response(
            200,
            {
                "enqueue_after_s": self.enqueue_after_s,
                "process_after_s": self.process_after_s,
                "stall": self.stall,
                "max_photo_bytes": self.max_photo_bytes,
                "garbage_next": self.garbage_next,
            },
        )


def _is_int(value: Any) -> bool:
    # bool is an int subclass in Python; JSON true is not a tag id.
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any) -> str:
    # Ids are strings on the wire, but a client may send 12837615 as a number; both name the same property.
    if isinstance(value, str):
        return value
    return str(value) if _is_int(value) else ""
