"""Logs as JSON lines naming their job, and error reports to Sentry with no secret in them."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage_shell(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SENTRY_"))}
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_json_log_lines_carry_the_job_they_were_logged_in() -> None:
    code = (
        "import logging\n"
        "from config.observability import log_about\n"
        "with log_about(job_id=42):\n"
        "    logging.getLogger('media_sync.services.jobs').warning('job %s: stuck', 42)\n"
        "logging.getLogger('media_sync').warning('outside any job')\n"
    )
    result = manage_shell(code, DJANGO_LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines[0]["message"] == "job 42: stuck" and lines[0]["job_id"] == "42"
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "media_sync.services.jobs"
    assert "time" in lines[0]
    assert lines[1]["message"] == "outside any job" and "job_id" not in lines[1]


def test_a_bad_log_format_stops_start_up_naming_it() -> None:
    result = manage_shell("pass", DJANGO_LOG_FORMAT="xml")
    assert result.returncode == 1
    assert result.stderr.strip() == "media-sync: DJANGO_LOG_FORMAT must be plain or json; got 'xml'"


class Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.bodies.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_error_reaches_sentry_without_its_secrets() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code = (
            "import sentry_sdk\n"
            "def upload(password, api_token):\n"
            "    link = 'https://s3.example/a.jpg?X-Amz-Signature=sig-hunter2'\n"
            "    raise RuntimeError('provider exploded')\n"
            "try:\n"
            "    upload('hunter2-password', 'hunter2-token')\n"
            "except RuntimeError as e:\n"
            "    sentry_sdk.capture_exception(e)\n"
            "sentry_sdk.flush(5)\n"
        )
        dsn = f"http://publickey@127.0.0.1:{server.server_port}/1"
        result = manage_shell(code, SENTRY_DSN=dsn)
        assert result.returncode == 0, result.stderr
    finally:
        server.shutdown()
    sent = b"".join(Receiver.bodies).decode()
    assert "provider exploded" in sent  # the report arrived, with its stack and local variables
    assert '"upload"' in sent and "api_token" in sent
    assert "hunter2" not in sent
