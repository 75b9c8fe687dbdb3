"""What the SU API simulator keeps (properties, their photos, photo batches) and the background processing
that settles pending photos; the state helpers tests call directly."""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass, field
from typing import Any

from integrations.simkit import SimulatorApp
from integrations.suapi.simulator.demo import (
    DEMO_PHOTO_ID,
    DEMO_PHOTO_TAGS,
    DEMO_PHOTO_URL,
    DEMO_PROPERTIES,
    DEMO_ROOM_ID,
    demo_picture,
    sample_picture,
)
from integrations.suapi.simulator.pictures import (
    MAX_PHOTO_BYTES,
    Fetched,
    _fetch_safely,
    picture_fingerprint,
    same_picture,
)

API_PREFIX = "/SUAPI/jservice/bdc/photo"
PENDING_PATH = f"{API_PREFIX}/pendingImages"
PROCESS_PATH = "/_sim/suapi/process"
# Where sample_url points: public previews, outside the API's credentials.
SAMPLE_PREFIX = "/SUAPI/samples"
PENDING_TTL_S = 7 * 86400

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


def _random_id(length: int = 11) -> str:
    # URL-safe like Booking.com's ids ("4EU2z7o-qUQ"); token_urlsafe gives about 4 chars per 3 bytes.
    return secrets.token_urlsafe(length)[:length]


def _timestamp(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


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
class SimRoom:
    """A room's own gallery: photos of the property associated with it, in the room's order."""

    channel_room_id: str
    photo_ids: list[str] = field(default_factory=list)
    ordered: bool = False


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
    # The gallery in Booking.com's order: the main photo first.
    photos: list[SimPhoto] = field(default_factory=list)
    batches: list[SimBatch] = field(default_factory=list)
    rooms: dict[str, SimRoom] = field(default_factory=dict)
    ordered: bool = False  # imageOrder was called for the property's gallery

    def set_order(self, photos: list[SimPhoto]) -> None:
        self.photos = photos
        for index, photo in enumerate(photos):
            photo.is_main = index == 0

    def remove(self, photo: SimPhoto) -> None:
        self.set_order([other for other in self.photos if other is not photo])
        for room in self.rooms.values():
            if photo.photo_id in room.photo_ids:
                room.photo_ids.remove(photo.photo_id)

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
            "rooms": {room_id: list(room.photo_ids) for room_id, room in self.rooms.items()},
        }


class _Store(SimulatorApp):
    """Properties, photos and batches; the simulator's other parts build on these."""

    app_id: str
    api_key: str
    mount_prefix: str

    def _clear_state(self) -> None:
        self.properties: dict[str, SimProperty] = {}
        self.batches: dict[str, SimBatch] = {}
        self.downloads: list[tuple[str, str]] = []  # (url, final status) per processed photo
        self.enqueue_after_s: float = 2.0
        self.process_after_s: float = 6.0
        self.stall = False
        self.max_photo_bytes = MAX_PHOTO_BYTES

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

    def _prop(self, hotel_id: str) -> SimProperty:
        prop = self.properties.get(str(hotel_id))
        if prop is None:
            raise ValueError(f"Property {hotel_id} does not exist.")
        return prop

    def add_room(self, hotel_id: str, channel_room_id: str) -> SimRoom:
        """A room Booking.com knows for the property (its channel_room_id), with an empty gallery."""
        with self.lock:
            prop = self._prop(hotel_id)
            room_id = str(channel_room_id).strip()
            if not room_id or room_id in prop.rooms:
                raise ValueError(f"Room {channel_room_id!r} is empty or already exists.")
            prop.rooms[room_id] = SimRoom(room_id)
            return prop.rooms[room_id]

    def add_outside_photo(
        self, hotel_id: str, *, seed: int = 90, tags: list[int] | None = None, photo_id: str | None = None
    ) -> SimPhoto:
        """A photo added to the gallery elsewhere (the extranet, another tool): the app never sent it."""
        return self.add_photo(
            hotel_id,
            f"https://photos.sim.invalid/outside/{seed}.jpg",
            demo_picture(seed),
            tags=tags,
            photo_id=photo_id,
        )

    def remove_photo(self, hotel_id: str, photo_id: str) -> None:
        """A photo removed at Booking.com by someone else (the main photo too: the extranet may)."""
        with self.lock:
            prop = self._prop(hotel_id)
            photo = prop.find(photo_id)
            if photo is None:
                raise ValueError(f"Property {hotel_id} has no photo {photo_id}.")
            prop.remove(photo)

    def sample(self, photo_id: str) -> bytes | None:
        """The watermarked preview sample_url serves: a small real JPEG drawn from the photo's fingerprint."""
        with self.lock:
            photo = next((p for prop in self.properties.values() if (p := prop.find(photo_id))), None)
            return None if photo is None else sample_picture(photo.fingerprint)

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
        self.add_room(DEMO_PROPERTIES[0][0], DEMO_ROOM_ID)

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
