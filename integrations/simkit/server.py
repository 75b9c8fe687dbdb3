"""Serving simulators over real HTTP on loopback: one threaded server, several apps under path prefixes."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from integrations.simkit.app import SimulatorApp
from integrations.simkit.wire import DROP, Outcome, SimRequest, json_response


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging request must not keep the process or server_close() waiting
    # Connections waiting to be accepted: socketserver's 5 resets some of a burst of 32 clients' (a
    # worker's threads all connecting at once), which no real API does.
    request_queue_size = 128

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
