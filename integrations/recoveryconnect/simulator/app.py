"""The RecoveryConnect simulator itself: its constructor, its routes and its reset."""

from __future__ import annotations

import secrets

from integrations.recoveryconnect.simulator.api import _Api
from integrations.recoveryconnect.simulator.control import _Control
from integrations.recoveryconnect.simulator.documents import _Documents
from integrations.recoveryconnect.simulator.state import DEFAULT_MOUNT_PREFIX
from integrations.simkit import Clock


class RecoveryConnectSimulator(_Documents, _Control, _Api):
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
        order = r"/orders/(?P<order_id>\d+)"
        recovery = rf"{order}/recoveries/(?P<recovery_id>\d+)"
        self.add_route("GET", rf"/api/v140{order}/recoveries", self._list_recoveries)
        self.add_route("GET", rf"/api/v130{recovery}/photos", self._list_recovery_photos)
        self.add_route("POST", rf"/api/v130{recovery}/photos", self._upload)
        self.add_route("POST", rf"/api/v150{recovery}/personals/photos", self._upload_personal)
        # Any leading path: served at the root by serve(), a link still carries the mounted path.
        self.add_route("GET", r"(?:/[\w.-]+)*/photos/(?P<photo_id>\d+)\.jpg", self._photo_file)
        self.add_route("POST", "/_sim/recoveryconnect/orders", self._control_add_order)
        self.add_route("GET", "/_sim/recoveryconnect/orders", self._control_orders)
        self.add_route("POST", "/_sim/recoveryconnect/seed-demo", self._control_seed_demo)
        self.add_route("GET", "/_sim/recoveryconnect/transfers", self._control_transfers)
        self.add_route("POST", "/_sim/recoveryconnect/recoveries", self._control_add_recovery)
        self.add_route("GET", "/_sim/recoveryconnect/uploads", self._control_uploads)
        self.add_route(
            "POST",
            r"/_sim/recoveryconnect/orders/(?P<order_id>\d+)/photos/(?P<photo_id>\d+)/remove",
            self._control_remove_photo,
        )
        self.add_route("GET", "/_sim/recoveryconnect/behaviour", lambda request: self._behaviour_response())
        self.add_route("POST", "/_sim/recoveryconnect/behaviour", self._control_behaviour)
        # Documents: list, transfer, their links and control routes (simulator/documents.py).
        self.add_document_routes()

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._clear_state()
