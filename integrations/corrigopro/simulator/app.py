"""The CorrigoPro simulator itself: its constructor, its routes, its reset and its dispatch."""

from __future__ import annotations

from typing import Any

from integrations.corrigopro.simulator.api import _Api
from integrations.corrigopro.simulator.control import _REDELIVER_PATH, _Control
from integrations.corrigopro.simulator.state import DEFAULT_MOUNT_PREFIX, MAX_FILE_SIZE, TOKEN_TTL_S
from integrations.corrigopro.webhook_auth import generate_signing_identity
from integrations.simkit import Clock, Outcome, SimRequest


class CorrigoProSimulator(_Control, _Api):
    def __init__(
        self,
        client_id: str = "demo-client",
        client_secret: str = "demo-secret",  # noqa: S107 - the simulator's well-known demo credential
        *,
        webhook_url: str | None = None,
        mount_prefix: str = DEFAULT_MOUNT_PREFIX,
        token_ttl_s: int = TOKEN_TTL_S,
        max_size: int = MAX_FILE_SIZE,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock)
        self.client_id, self.client_secret = client_id, client_secret
        self._defaults: dict[str, Any] = {
            "webhook_url": webhook_url,
            "mount_prefix": mount_prefix,
            "token_ttl_s": token_ttl_s,
            "max_size": max_size,
        }
        # The identity outlives reset(): the app pins this certificate, like the provider's published one.
        self.private_key, self.certificate_pem = generate_signing_identity()
        self._clear_state()
        self.add_route("POST", "/oauth/token", self._token)
        self.add_route("GET", "/api/attachments", self._list)
        self.add_route("POST", "/api/attachments", self._upload)
        self.add_route("PUT", "/api/attachments", self._update)
        self.add_route("DELETE", "/api/attachments", self._delete)
        self.add_route("GET", "/api/attachments/downloadUrl", self._download_url)
        # Any leading path: served at the root by serve(), the app still gets the mounted link's full path.
        self.add_route("GET", r"(?:/[\w.-]+)*/files/(?P<attachment_id>[\w-]+)", self._file)
        self.add_route("POST", "/_sim/corrigopro/work-orders", self._control_add_work_order)
        self.add_route("GET", "/_sim/corrigopro/work-orders", self._control_work_orders)
        self.add_route("POST", "/_sim/corrigopro/seed-demo", self._control_seed_demo)
        self.add_route("POST", "/_sim/corrigopro/customer/add-attachment", self._control_customer_add)
        self.add_route("POST", "/_sim/corrigopro/customer/remove-attachment", self._control_customer_remove)
        self.add_route("POST", "/_sim/corrigopro/customer/new-work-order", self._control_customer_new)
        self.add_route("GET", "/_sim/corrigopro/certificate", self._control_certificate)
        self.add_route("GET", "/_sim/corrigopro/deliveries", self._control_deliveries)
        self.add_route("POST", _REDELIVER_PATH, self._control_redeliver)
        self.add_route("GET", "/_sim/corrigopro/uploads", self._control_uploads)
        self.add_route("GET", "/_sim/corrigopro/behaviour", lambda request: self._behaviour_response())
        self.add_route("POST", "/_sim/corrigopro/behaviour", self._control_behaviour)

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._clear_state()

    def dispatch(self, request: SimRequest) -> Outcome:
        # SimulatorApp runs control routes under self.lock. Customer actions deliver a webhook synchronously,
        # and the app may call this simulator back from its webhook handler (another server thread): holding
        # the lock through the delivery would stall that call until the webhook timed out. These handlers take
        # the lock themselves, around state changes only.
        path = request.path
        if path.startswith("/_sim/corrigopro/customer/") or _REDELIVER_PATH.fullmatch(path):
            return self._route(request)
        return super().dispatch(request)
