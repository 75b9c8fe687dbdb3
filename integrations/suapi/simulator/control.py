"""The SU API simulator's control routes under /_sim/suapi/: the knobs tests and the demo turn."""

from __future__ import annotations

from integrations.simkit import SimRequest, SimResponse, json_response
from integrations.suapi.simulator.state import _Store


class _Control(_Store):
    """Seed and inspect the state, run processing now, change behaviour."""

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

    def _control_add_outside_photo(self, request: SimRequest, hotel_id: str) -> SimResponse:
        """A photo "added outside the app": {"seed": n, "tags": [..], "photo_id": ".."}, all optional."""
        body = request.json() if request.body else {}
        try:
            if not isinstance(body, dict) or not set(body) <= {"seed", "tags", "photo_id"}:
                raise ValueError(
                    'Body must be {"seed": <int>, "tags": [<int>], "photo_id": <str>}, all optional.'
                )
            photo = self.add_outside_photo(
                hotel_id,
                seed=int(body.get("seed", 90)),
                tags=[int(tag) for tag in body.get("tags") or []],
                photo_id=str(body["photo_id"]) if body.get("photo_id") else None,
            )
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(201, photo.to_dict())

    def _control_remove_photo(self, request: SimRequest, hotel_id: str, photo_id: str) -> SimResponse:
        """A photo removed "at Booking.com" by someone else."""
        try:
            self.remove_photo(hotel_id, photo_id)
        except ValueError as error:
            return json_response(404, {"message": str(error)})
        return json_response(200, self.properties[hotel_id].to_dict())

    def _control_add_room(self, request: SimRequest, hotel_id: str) -> SimResponse:
        body = request.json()
        try:
            if not isinstance(body, dict) or "channel_room_id" not in body:
                raise ValueError('Body must be {"channel_room_id": ..}.')
            self.add_room(hotel_id, str(body["channel_room_id"]))
        except ValueError as error:
            return json_response(400, {"message": str(error)})
        return json_response(201, self.properties[hotel_id].to_dict())

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
