"""The CorrigoPro simulator's control routes under /_sim/corrigopro/: the knobs tests and the demo turn."""

from __future__ import annotations

import re

from integrations.corrigopro.simulator.forms import _spec_from_json
from integrations.corrigopro.simulator.webhooks import _Customer
from integrations.simkit import SimRequest, SimResponse, json_response, text_response

_REDELIVER_PATH = re.compile(r"/_sim/corrigopro/deliveries/(?P<index>\d+)/redeliver")


class _Control(_Customer):
    """Seed and inspect the state, act as a customer, change behaviour."""

    def _control_add_work_order(self, request: SimRequest) -> SimResponse:
        body = request.json()
        try:
            if not isinstance(body, dict) or "work_order_id" not in body:
                raise ValueError('Body must be {"work_order_id": .., "status": .., "attachments": [..]}.')
            specs = [_spec_from_json(spec) for spec in body.get("attachments") or []]
            work_order = self.add_work_order(
                body["work_order_id"], status=body.get("status", "Accepted"), attachments=specs
            )
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(201, work_order.to_dict())

    def _control_work_orders(self, request: SimRequest) -> SimResponse:
        return json_response(200, {"work_orders": [wo.to_dict() for wo in self.work_orders.values()]})

    def _control_seed_demo(self, request: SimRequest) -> SimResponse:
        try:
            self.seed_demo()
        except ValueError as error:
            return json_response(409, {"message": str(error)})
        return self._control_work_orders(request)

    def _control_customer_add(self, request: SimRequest) -> SimResponse:
        body = request.json()
        try:
            if not isinstance(body, dict) or "work_order_id" not in body:
                raise ValueError(
                    "Body must hold work_order_id (and optionally name, mime_type, content_base64)."
                )
            spec = _spec_from_json({k: v for k, v in body.items() if k != "work_order_id"})
            attachment, delivery = self._customer_add(int(body["work_order_id"]), **spec)
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(200, {"attachment": attachment.to_dict(), "delivery": delivery.to_dict()})

    def _control_customer_remove(self, request: SimRequest) -> SimResponse:
        body = request.json()
        try:
            if not isinstance(body, dict) or not {"work_order_id", "attachment_id"} <= set(body):
                raise ValueError("Body must hold work_order_id and attachment_id.")
            attachment, delivery = self._customer_remove(
                int(body["work_order_id"]), str(body["attachment_id"])
            )
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(200, {"attachment": attachment.to_dict(), "delivery": delivery.to_dict()})

    def _control_customer_new(self, request: SimRequest) -> SimResponse:
        body = request.json()
        try:
            if not isinstance(body, dict) or "work_order_id" not in body:
                raise ValueError("Body must hold work_order_id (and optionally status, attachments).")
            specs = [_spec_from_json(spec) for spec in body.get("attachments") or []]
            work_order, delivery = self._customer_new(
                int(body["work_order_id"]), body.get("status", "New"), specs
            )
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(200, {"work_order": work_order.to_dict(), "delivery": delivery.to_dict()})

    def _control_certificate(self, request: SimRequest) -> SimResponse:
        return text_response(200, self.certificate_pem.decode("ascii"), "application/x-pem-file")

    def _control_deliveries(self, request: SimRequest) -> SimResponse:
        return json_response(200, {"deliveries": [d.to_dict() for d in self.deliveries]})

    def _control_redeliver(self, request: SimRequest, index: str) -> SimResponse:
        try:
            delivery = self.redeliver(int(index))
        except IndexError:
            return json_response(404, {"message": f"No delivery {index}."})
        return json_response(200, delivery.to_dict())

    def _control_uploads(self, request: SimRequest) -> SimResponse:
        return json_response(200, {"uploads": [vars(upload) for upload in self.uploads]})

    def _control_behaviour(self, request: SimRequest) -> SimResponse:
        body = request.json()
        allowed = {"webhook_url", "bare_404_next", "max_size", "token_ttl_s", "garbage_next", "mount_prefix"}
        if not isinstance(body, dict) or not set(body) <= allowed:
            return json_response(400, {"message": f"Allowed keys: {', '.join(sorted(allowed))}."})
        if body.get("garbage_next") not in (None, "html", "truncated"):
            return json_response(400, {"message": 'garbage_next must be null, "html" or "truncated".'})
        if "webhook_url" in body:
            self.webhook_url = body["webhook_url"] or None
        if "mount_prefix" in body:
            self.mount_prefix = str(body["mount_prefix"] or "").rstrip("/")
        if "bare_404_next" in body:
            self.bare_404_next = bool(body["bare_404_next"])
        if "garbage_next" in body:
            self.garbage_next = body["garbage_next"]
        for name in ("max_size", "token_ttl_s"):
            if name in body:
                setattr(self, name, int(body[name]))
        return self._behaviour_response()

    def _behaviour_response(self) -> SimResponse:
        return json_response(
            200,
            {
                "webhook_url": self.webhook_url,
                "mount_prefix": self.mount_prefix,
                "bare_404_next": self.bare_404_next,
                "max_size": self.max_size,
                "token_ttl_s": self.token_ttl_s,
                "garbage_next": self.garbage_next,
            },
        )
