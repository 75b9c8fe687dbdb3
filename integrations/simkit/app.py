"""The base of every simulator: routes, state lock, faults, clock, request log and the shared control
routes."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from integrations.simkit.faults import Clock, Faults
from integrations.simkit.wire import (
    DROP,
    BadRequestError,
    Handler,
    LoggedRequest,
    Outcome,
    SimRequest,
    SimResponse,
    gateway_error_page,
    json_response,
)

CONTROL_PREFIX = "/_sim/"


class SimulatorApp:
    """Routes, state lock, faults, clock and request log; subclasses add routes and provider state."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.faults = Faults()
        self.lock = threading.RLock()
        self.log: list[LoggedRequest] = []
        self.garbage_next: str | None = None  # None | "html" | "truncated": mangle the next API response
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._generation = 0  # bumped by reset() so a request hanging across a reset touches nothing
        self.in_flight = 0
        self.peak_in_flight = 0  # the most API requests it was serving at once, since the last reset
        self.add_route("POST", "/_sim/reset", lambda request: self._control_reset())
        self.add_route("GET", "/_sim/faults", lambda request: json_response(200, self.faults.to_dict()))
        self.add_route("POST", "/_sim/faults", self._control_faults)
        self.add_route("POST", "/_sim/clock/advance", self._control_advance)
        self.add_route("GET", "/_sim/log", lambda request: json_response(200, {"requests": self.log_dicts()}))

    def add_route(self, method: str, pattern: str | re.Pattern[str], handler: Handler) -> None:
        """Paths under /_sim/ are control routes: never faulted, never logged."""
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.clock.reset()
            self.log.clear()
            self.garbage_next = None
            self._generation += 1
            self.peak_in_flight = self.in_flight

    def log_dicts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [vars(entry).copy() for entry in self.log]

    def dispatch(self, request: SimRequest) -> Outcome:
        if request.path.startswith(CONTROL_PREFIX):
            with self.lock:
                return self._route(request)
        with self.lock:
            fault, faults, generation = self.faults.pick(), self.faults, self._generation
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return self._serve(request, fault, faults, generation)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _serve(self, request: SimRequest, fault: str | None, faults: Faults, generation: int) -> Outcome:
        # Sleeps happen outside the lock so concurrent requests are served in parallel.
        if faults.latency_s > 0:
            time.sleep(faults.latency_s)
        if fault == "hang":
            time.sleep(faults.hang_s)
        with self.lock:
            if generation != self._generation:
                return DROP  # reset() ran meanwhile: this request belongs to a world that is gone
            if fault == "drop":
                self._log(request, "dropped", fault)
                return DROP
            if fault == "rate_limit":
                headers = {"Retry-After": str(faults.retry_after_s)}
                response = json_response(429, {"message": "Too Many Attempts."}, headers)
            elif fault == "error":
                response = gateway_error_page(faults.rng.choice((500, 502, 503)))
            else:
                response = self._garble(self._route(request))
            self._log(request, "timeout-hang" if fault == "hang" else response.status, fault)
            return response

    def _route(self, request: SimRequest) -> SimResponse:
        allowed = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            try:
                return handler(request, **match.groupdict())
            except BadRequestError as error:
                return json_response(400, {"message": str(error)})
            except Exception as error:  # a simulator bug must answer 500, not kill the server thread
                return json_response(500, {"message": f"Simulator error: {type(error).__name__}: {error}"})
        if allowed:
            return json_response(405, {"message": "Method not allowed."}, {"Allow": ", ".join(allowed)})
        return json_response(404, {"message": "Not found."})

    def _garble(self, response: SimResponse) -> SimResponse:
        # The work is done, only the answer is mangled: the worst case for a client, which must not redo it.
        mode, self.garbage_next = self.garbage_next, None
        if mode == "html":
            return gateway_error_page(200)
        if mode == "truncated":
            half = response.body[: len(response.body) // 2]
            return SimResponse(200, {"Content-Type": "application/json"}, half)
        return response

    def _log(self, request: SimRequest, status: int | str, fault: str | None) -> None:
        self.log.append(LoggedRequest(request.method, request.path, status, fault, self.clock.now()))

    def _control_reset(self) -> SimResponse:
        self.reset()
        return json_response(200, {"reset": True})

    def _control_faults(self, request: SimRequest) -> SimResponse:
        body = request.json()
        try:
            if not isinstance(body, dict):
                raise ValueError("Body must be a JSON object of fault fields.")
            self.faults.update(body)
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(200, self.faults.to_dict())

    def _control_advance(self, request: SimRequest) -> SimResponse:
        body = request.json()
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            return json_response(400, {"message": 'Body must be {"seconds": <number>}.'})
        self.clock.advance(seconds)
        return json_response(200, {"now": self.clock.now()})
