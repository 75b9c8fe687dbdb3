"""The RecoveryConnect simulator's control routes under /_sim/recoveryconnect/: the knobs tests and the demo
turn."""

from __future__ import annotations

from integrations.recoveryconnect.simulator.state import (
    BROKEN_KINDS,
    _order_dict,
    _recovery_dict,
    _Store,
)
from integrations.simkit import SimRequest, SimResponse, json_response


class _Control(_Store):
    """Seed and inspect the state, change behaviour."""

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

    def _control_add_recovery(self, request: SimRequest) -> SimResponse:
        """Body: {"order_id": <internal id>, "id"?, "created_at"?, "is_active"?}."""
        body = request.json()
        if not isinstance(body, dict) or "order_id" not in body:
            return json_response(400, {"message": "Body must be a JSON object with order_id."})
        try:
            recovery = self.add_recovery(**body)
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(201, _recovery_dict(recovery))

    def _control_remove_photo(self, request: SimRequest, order_id: str, photo_id: str) -> SimResponse:
        """A photo deleted from an order at RecoveryConnect: later lists leave it out."""
        try:
            photo = self.remove_photo(int(order_id), int(photo_id))
        except ValueError as error:
            return json_response(404, {"message": str(error)})
        return json_response(200, {"removed": photo.id, "order_id": int(order_id)})

    def _control_uploads(self, request: SimRequest) -> SimResponse:
        return json_response(200, {"uploads": list(self.uploads)})

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
