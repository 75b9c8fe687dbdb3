"""What the RecoveryConnect simulator keeps (orders, their photos, transfers, tokens) and the state helpers
tests call directly."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from integrations.recoveryconnect.simulator.demo import _DEMO_PHOTOS, _DEMO_RECOVERIES, DEMO_ORDERS
from integrations.simkit import SimulatorApp

FIRST_PHOTO_ID = 180461370
FIRST_RECOVERY_ID = 10120166
# Where run_simulators mounts this app; photo links carry it, and the file route accepts any prefix.
DEFAULT_MOUNT_PREFIX = "/recoveryconnect"
# What a broken photo link serves instead of the picture (the behaviour knob "broken_photos").
BROKEN_KINDS = ("corrupt", "missing", "html")


@dataclass
class SimPhoto:
    id: int
    name: str
    type_id: int | None = 2
    type_name: str = "Vehicle"
    locked: bool = False
    # An uploaded photo's own bytes, which its link serves (else a generated picture).
    content: bytes | None = field(default=None, repr=False)


@dataclass
class SimRecovery:
    id: int
    created_at: str
    is_active: bool = True
    photos: list[SimPhoto] = field(default_factory=list)
    personals: list[SimPhoto] = field(default_factory=list)


@dataclass
class SimOrder:
    internal_id: int
    client_order_id: int
    closed: bool = False
    photos: list[SimPhoto] = field(default_factory=list)
    recoveries: list[SimRecovery] = field(default_factory=list)


@dataclass(frozen=True)
class Transfer:
    source_order_id: int
    photo_id: int
    dest_client_order_id: int
    new_photo_id: int
    at: float


def _photo_dict(photo: SimPhoto) -> dict[str, Any]:
    return {key: value for key, value in vars(photo).items() if key != "content"}


def _recovery_dict(recovery: SimRecovery) -> dict[str, Any]:
    return {
        "id": recovery.id,
        "created_at": recovery.created_at,
        "is_active": recovery.is_active,
        "photos": [photo.id for photo in recovery.photos],
        "personals": [photo.id for photo in recovery.personals],
    }


def _order_dict(order: SimOrder) -> dict[str, Any]:
    return {
        "internal_id": order.internal_id,
        "client_order_id": order.client_order_id,
        "closed": order.closed,
        "photos": [_photo_dict(photo) for photo in order.photos],
        "recoveries": [_recovery_dict(recovery) for recovery in order.recoveries],
    }


class _Store(SimulatorApp):
    """Orders and their photos; the simulator's other parts build on these."""

    username: str
    password: str
    files_base_url: str | None
    mount_prefix: str
    _default_ttl: int
    _signing_key: bytes

    def _clear_state(self) -> None:
        self.orders: dict[int, SimOrder] = {}
        self.tokens: dict[str, float] = {}  # access token -> expiry on self.clock
        self.transfers: list[Transfer] = []
        self.auth_count = 0
        self.token_ttl_s = self._default_ttl
        self.omit_photo_ids: set[int] = set()
        self.broken_photos: dict[int, str] = {}  # photo id -> one of BROKEN_KINDS
        self.uploads: list[dict[str, Any]] = []  # every upload stored, in order (GET /_sim/.../uploads)
        self._next_photo_id = FIRST_PHOTO_ID
        self._next_recovery_id = FIRST_RECOVERY_ID

    def add_order(
        self,
        internal_id: int,
        client_order_id: int,
        *,
        closed: bool = False,
        photos: list[dict[str, Any]] | None = None,
        recoveries: list[dict[str, Any]] | None = None,
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
            for recovery_spec in recoveries or []:
                self.add_recovery(order.internal_id, **recovery_spec)
            return order

    def add_recovery(
        self, order_id: int, *, id: int | None = None, created_at: str = "", is_active: bool = True
    ) -> SimRecovery:
        """A recovery of the order (`created_at` "YYYY-MM-DD HH:MM:SS", default: now on the clock)."""
        with self.lock:
            order = self.orders.get(int(order_id))
            if order is None:
                raise ValueError(f"Order {order_id} does not exist.")
            recovery_id = int(id) if id is not None else self._new_recovery_id()
            if self._find_recovery(recovery_id) is not None:
                raise ValueError(f"Recovery id {recovery_id} is already used.")
            when = created_at or time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.clock.now()))
            recovery = SimRecovery(recovery_id, str(when), bool(is_active))
            order.recoveries.append(recovery)
            return recovery

    def seed_demo(self) -> None:
        for internal_id, client_order_id, closed in DEMO_ORDERS:
            recoveries = [] if closed else _DEMO_RECOVERIES.get(internal_id, [{}])
            self.add_order(
                internal_id,
                client_order_id,
                closed=closed,
                photos=_DEMO_PHOTOS.get(internal_id),
                recoveries=recoveries,
            )

    def remove_photo(self, order_id: int, photo_id: int) -> SimPhoto:
        """Take a photo out of an order "at the provider" (someone deleted it there), for the checks."""
        with self.lock:
            order = self.orders.get(int(order_id))
            if order is None:
                raise ValueError(f"Order {order_id} does not exist.")
            photo = next((p for p in order.photos if p.id == int(photo_id)), None)
            if photo is None:
                raise ValueError(f"Order {order_id} has no photo {photo_id}.")
            order.photos.remove(photo)
            for recovery in order.recoveries:  # an upload is listed on its recovery too
                for listed in (recovery.photos, recovery.personals):
                    if photo in listed:
                        listed.remove(photo)
            return photo

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def _new_photo_id(self) -> int:
        while self._find_photo(self._next_photo_id) is not None:  # skip ids a test chose explicitly
            self._next_photo_id += 1
        self._next_photo_id += 1
        return self._next_photo_id - 1

    def _new_recovery_id(self) -> int:
        while self._find_recovery(self._next_recovery_id) is not None:
            self._next_recovery_id += 1
        self._next_recovery_id += 1
        return self._next_recovery_id - 1

    def _find_recovery(self, recovery_id: int) -> SimRecovery | None:
        return next((r for o in self.orders.values() for r in o.recoveries if r.id == recovery_id), None)

    def _find_photo(self, photo_id: int) -> SimPhoto | None:
        return next((p for o in self.orders.values() for p in o.photos if p.id == photo_id), None)

    def _by_client_id(self, client_order_id: int) -> SimOrder | None:
        return next((o for o in self.orders.values() if o.client_order_id == client_order_id), None)
