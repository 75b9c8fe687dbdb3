from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import sys
import time
from argparse import ArgumentParser
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from media_sync.management.jobcommand import add_sync_argument
from media_sync.services.demo import (
    demo_booking_batch_send,
    demo_orders_load,
    demo_users_reset,
    demo_work_orders_load,
)

WEB_HOST, WEB_PORT = "127.0.0.1", 8000
WEB_ADDRESS = f"{WEB_HOST}:{WEB_PORT}"


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise CommandError(f"nothing listening on {host}:{port} after {timeout:g} s")


class Command(BaseCommand):
    help = "Run the whole app on the embedded defaults: simulators, demo data, one worker, the web server."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_sync_argument(parser, always=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("the demo runs with DJANGO_DEBUG=1 (make demo sets it)")
        call_command("migrate", interactive=False, verbosity=0)
        # Ctrl-C, or a TERM from whatever started us, stops every child process (see `finally`).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        password = secrets.token_urlsafe(12)
        users = demo_users_reset(password=password)
        manage = [sys.executable, "manage.py"]
        processes: list[subprocess.Popen[bytes]] = []
        try:
            processes.append(subprocess.Popen([*manage, "run_simulators", "--demo"]))
            simulators = urlsplit(settings.SIMULATOR_URL)
            wait_for_port(simulators.hostname or "127.0.0.1", simulators.port or 8001)
            for what, load in (("orders", demo_orders_load), ("work orders", demo_work_orders_load)):
                job = load()
                self.stdout.write(
                    f"demo {what} mirrored: job {job.pk if job else '-'} {job.status if job else ''}"
                )
            batch_job = demo_booking_batch_send()
            self.stdout.write(f"demo Booking.com batch queued: job {batch_job.pk}")
            processes.append(subprocess.Popen([*manage, "qcluster"]))
            processes.append(subprocess.Popen([*manage, "runserver", WEB_ADDRESS, "--noreload"]))
            wait_for_port(WEB_HOST, WEB_PORT)
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nmedia-sync is up at http://{WEB_ADDRESS}/admin/\n"
                    f"  logins ({', '.join(users)}), password for each: {password}\n"
                    "  admin: everything; operator: runs transfers; lead: reads and exports the audit\n"
                    "  try: RecoveryConnect photos > search 57076503 > select three > "
                    "'Transfer selected photos to orders…' > 9100002 9100005\n"
                    "  the simulator fails transfers to 9100003 (a closed order) and of locked photos\n"
                    "  CorrigoPro work orders 4100001-4100006: upload, download, edit, delete attachments;\n"
                    "  the simulated customer attaches a photo to 4100001 every 90 s (Webhook deliveries)\n"
                    "  Booking.com photo batches: the demo batch for NT7 ends within about two minutes\n"
                    "Ctrl-C stops everything.\n"
                )
            )
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
            raise CommandError("a demo process stopped; shutting the rest down")
        except KeyboardInterrupt:
            self.stdout.write("stopping…")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
