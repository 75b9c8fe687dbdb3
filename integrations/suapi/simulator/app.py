"""The SU API simulator itself: its constructor, its routes, its reset and its dispatch."""

from __future__ import annotations

from integrations.simkit import Clock, Outcome, SimRequest
from integrations.suapi.simulator.control import _Control
from integrations.suapi.simulator.gallery import _Gallery
from integrations.suapi.simulator.state import API_PREFIX, PENDING_PATH, PROCESS_PATH, SAMPLE_PREFIX

_PROPERTY = "/_sim/suapi/properties/(?P<hotel_id>[^/]+)"


class SuApiSimulator(_Control, _Gallery):
    def __init__(
        self,
        app_id: str = "demo-app",
        api_key: str = "demo-key",
        *,
        clock: Clock | None = None,
        mount_prefix: str = "",
    ) -> None:
        super().__init__(clock)
        self.app_id, self.api_key = app_id, api_key
        # Where a server mounting several simulators puts this one: sample_url links point under it.
        self.mount_prefix = mount_prefix.rstrip("/")
        self._clear_state()
        self.add_route("POST", f"{API_PREFIX}/create", self._create)
        self.add_route("POST", PENDING_PATH, self._pending)
        self.add_route("POST", f"{API_PREFIX}/retrieveAll", self._retrieve_all)
        self.add_route("POST", f"{API_PREFIX}/delete", self._delete)
        self.add_route("GET", f"{API_PREFIX}/retrieveTags", self._retrieve_tags)
        self.add_route("POST", f"{API_PREFIX}/show", self._show)
        self.add_route("POST", f"{API_PREFIX}/update", self._update)
        self.add_route("POST", f"{API_PREFIX}/imageOrder", self._image_order)
        self.add_route("POST", f"{API_PREFIX}/retrieveAssociateImages", self._retrieve_associate)
        self.add_route("POST", f"{API_PREFIX}/associate", lambda request: self._associate(request, add=True))
        self.add_route(
            "POST", f"{API_PREFIX}/unassociate", lambda request: self._associate(request, add=False)
        )
        self.add_route("GET", f"{SAMPLE_PREFIX}/(?P<photo_id>[^/]+)\\.jpg", self._sample)
        self.add_route("POST", f"{_PROPERTY}/photos", self._control_add_outside_photo)
        self.add_route("POST", f"{_PROPERTY}/photos/(?P<photo_id>[^/]+)/remove", self._control_remove_photo)
        self.add_route("POST", f"{_PROPERTY}/rooms", self._control_add_room)
        self.add_route("GET", "/_sim/suapi/properties", self._control_properties)
        self.add_route("POST", "/_sim/suapi/properties", self._control_add_property)
        self.add_route("POST", "/_sim/suapi/seed-demo", self._control_seed_demo)
        self.add_route("POST", PROCESS_PATH, self._control_process)
        self.add_route("GET", "/_sim/suapi/batches", self._control_batches)
        self.add_route("GET", "/_sim/suapi/behaviour", lambda request: self._behaviour_response())
        self.add_route("POST", "/_sim/suapi/behaviour", self._control_behaviour)

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
