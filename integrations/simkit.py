"""Shared kit for provider simulators: in-memory fakes of provider APIs served over real HTTP on loopback,
with a fake clock, injectable faults and a log of what the provider saw. No Django: they run anywhere."""

from __future__ import annotations

import contextlib
import enum
import functools
import io
import json
import random
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from PIL import Image, ImageDraw

CONTROL_PREFIX = "/_sim/"


class Clock:
    """Wall clock plus an offset, so tests can jump past a token expiry without sleeping."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0


@dataclass
class Faults:
    """What goes wrong on API routes. The random source lives here so `app.faults = Faults(seed=1)` is
    deterministic without further calls."""

    latency_s: float = 0.0
    error_rate: float = 0.0
    rate_limit_burst: int = 0
    retry_after_s: int = 1
    drop_rate: float = 0.0
    hang_rate: float = 0.0
    hang_s: float = 5.0
    # The next N requests hang for hang_s and are then carried out: the client has given up by then.
    hang_burst: int = 0
    # The provider's own rate limit: a bucket refilled at this many requests per second, holding half a
    # second's worth, at least two (the burst it allows); past it, 429 with Retry-After. 0: no limit.
    rate_limit_per_s: float = 0.0
    seed: int | None = None
    rng: random.Random = field(init=False, repr=False, compare=False)
    _bucket: float = field(init=False, repr=False, compare=False, default=0.0)
    _bucket_at: float = field(init=False, repr=False, compare=False, default=0.0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._bucket, self._bucket_at = max(2.0, self.rate_limit_per_s / 2), time.monotonic()

    def update(self, values: Mapping[str, Any]) -> None:
        """Set fields from JSON; the converter is the default's type, so "0.5" and 1 both work."""
        names = {name for name in self.to_dict()}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"Unknown fault field(s): {', '.join(unknown)}")
        for name, value in values.items():
            if name == "seed":
                self.seed = None if value is None else int(value)
                self.rng = random.Random(self.seed)
            else:
                setattr(self, name, type(getattr(Faults, name))(value))
        self._bucket, self._bucket_at = max(2.0, self.rate_limit_per_s / 2), time.monotonic()

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def pick(self) -> str | None:
        """Decide this request's fault (caller holds the app lock, so a burst is consumed exactly once)."""
        if self.rate_limit_burst > 0:
            self.rate_limit_burst -= 1
            return "rate_limit"
        if self.hang_burst > 0:
            self.hang_burst -= 1
            return "hang"
        if self.rate_limit_per_s > 0:
            now, capacity = time.monotonic(), max(2.0, self.rate_limit_per_s / 2)
            self._bucket = min(capacity, self._bucket + (now - self._bucket_at) * self.rate_limit_per_s)
            self._bucket_at = now
            if self._bucket < 1.0:
                return "rate_limit"
            self._bucket -= 1.0
        for name, rate in (("drop", self.drop_rate), ("hang", self.hang_rate), ("error", self.error_rate)):
            if rate > 0 and self.rng.random() < rate:
                return name
        return None


@functools.lru_cache(maxsize=256)
def labelled_jpeg(title: str, subtitle: str = "", *, size: tuple[int, int] = (1024, 768)) -> bytes:
    """A real JPEG for a simulated provider's pictures: a colour of its own (from the title) with the
    title written large enough to read in an 80-pixel thumbnail."""
    hue = zlib.crc32(f"{title}/{subtitle}".encode())
    image = Image.new("RGB", size, (64 + hue % 160, 64 + (hue >> 8) % 160, 64 + (hue >> 16) % 160))
    draw = ImageDraw.Draw(image)
    width, height = size
    scale = width / 1024
    draw.rectangle(
        (80 * scale, 80 * scale, width - 80 * scale, height - 80 * scale), outline="white", width=12
    )
    # As large as fits across the frame (about 0.55 em per character).
    title_size = min(150, 1400 // max(1, len(title)))
    draw.text((120 * scale, 200 * scale), title, fill="white", font_size=int(title_size * scale))
    draw.text((120 * scale, height - 208 * scale), subtitle, fill="white", font_size=int(64 * scale))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


class BadRequestError(ValueError):
    """The request body cannot be read; handlers may turn it into their provider's own error shape."""


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        # HTTP header names are case-insensitive; the dict keeps whatever case the client sent.
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), default)

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise BadRequestError(f"Request body is not valid JSON: {error}") from None


@dataclass
class SimResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class _Drop(enum.Enum):
    DROP = "drop"


# Returned instead of a response when the server must close the connection without answering.
DROP: Literal[_Drop.DROP] = _Drop.DROP
Outcome = SimResponse | Literal[_Drop.DROP]
Handler = Callable[..., SimResponse]


def _dump(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def json_response(status: int, obj: Any, headers: Mapping[str, str] | None = None) -> SimResponse:
    return SimResponse(status, {"Content-Type": "application/json", **(headers or {})}, _dump(obj))


def text_response(
    status: int,
    text: str,
    content_type: str = "text/plain; charset=utf-8",
    headers: Mapping[str, str] | None = None,
) -> SimResponse:
    return SimResponse(status, {"Content-Type": content_type, **(headers or {})}, text.encode())


def gateway_error_page(status: int) -> SimResponse:
    # Real gateways in front of an API answer 5xx with their own HTML page, never the API's JSON.
    title = f"{status} {HTTPStatus(status).phrase}"
    html = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
    return text_response(status, html + "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", "text/html")


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int | str  # an HTTP status, or "dropped" / "timeout-hang" when the client got no timely answer
    fault: str | None
    at: float


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging request must not keep the process or server_close() waiting

    def __init__(self, address: tuple[str, int], mounts: dict[str, SimulatorApp], verbose: bool) -> None:
        # Longest prefix first so "/a/b" wins over "/a".
        self.mounts = dict(sorted(mounts.items(), key=lambda item: -len(item[0].rstrip("/"))))
        self.verbose = verbose
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, drop) makes our late write fail: expected, not worth a traceback.
        if self.verbose:
            super().handle_error(request, client_address)

    def find(self, path: str) -> tuple[SimulatorApp | None, str]:
        for prefix, app in self.mounts.items():
            prefix = prefix.rstrip("/")
            if path == prefix or path.startswith(prefix + "/"):
                return app, path[len(prefix) :] or "/"
        return None, path


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs; every answer carries Content-Length
    timeout = 30  # idle keep-alive connections end instead of pinning a thread forever
    # Headers and body go out as two writes: with Nagle on, the body waits for the client's delayed ACK
    # (about 40 ms on Linux), a latency no real provider adds.
    disable_nagle_algorithm = True
    server: _Server

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        app, path = self.server.find(url.path)
        if app is None:
            outcome: Outcome = json_response(404, {"message": "No simulator mounted here."})
        else:
            headers = dict(self.headers.items())
            outcome = app.dispatch(SimRequest(self.command, path, dict(parse_qsl(url.query)), headers, body))
        if outcome is DROP:
            # Close without a byte written, so the client sees a connection error, not an HTTP answer.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(outcome.status)
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(outcome.body)))
        self.end_headers()
        self.wfile.write(outcome.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class RunningServer:
    def __init__(self, server: _Server) -> None:
        self._server = server
        host, self.port = server.server_address[:2]
        self.url = f"http://{host!s}:{self.port}"
        # A short poll interval keeps stop() fast (shutdown waits for one poll).
        serve_kwargs = {"poll_interval": 0.05}
        self._thread = threading.Thread(target=server.serve_forever, kwargs=serve_kwargs, daemon=True)
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_many(
    mounts: Mapping[str, SimulatorApp], host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
) -> RunningServer:
    """One server, several simulators under path prefixes (stripped before dispatch)."""
    # The constructor binds and listens, so connections queue even before serve_forever starts.
    return RunningServer(_Server((host, port), dict(mounts), verbose))


def serve(
    app: SimulatorApp, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
) -> RunningServer:
    return serve_many({"": app}, host, port, verbose=verbose)
