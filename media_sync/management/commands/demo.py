from __future__ import annotations

import _thread
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
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
    demo_documents_load,
    demo_orders_load,
    demo_users_reset,
    demo_work_orders_load,
)
from media_sync.services.demo_checks import demo_checked_transfer
from media_sync.services.demo_gallery import demo_booking_gallery
from media_sync.services.demo_triage import demo_open_failures

WEB_HOST = "127.0.0.1"
# After SIGTERM, a process group gets this long to end before it is killed.
STOP_GRACE_S = 5.0
# How soon a stop signal is raised again while the demo has not begun to stop.
REPEAT_S = 0.2


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise CommandError(f"nothing listening on {host}:{port} after {timeout:g} s")


class Children:
    """The demo's processes, each the leader of its own process group: a stop signals every group, so the
    processes they start (qcluster's workers) go too, and a group still there after the grace is killed.

    The first Ctrl-C or SIGTERM raises KeyboardInterrupt in the main thread, except while a child is being
    started: then it waits until the child is on the list, so none is ever left out of the stop. Later ones
    (a second Ctrl-C while stopping) are ignored, so they cannot cut the stop short."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self._starting = False
        self._stop_asked = False
        self.stopping = False

    def on_signal(self, signum: int, frame: object) -> None:
        if self.stopping or (self._stop_asked and self._starting):
            return
        self._stop_asked = True
        if not self._starting:
            # Raised while a finalizer runs (a connection pool collected), a KeyboardInterrupt is only
            # printed ("Exception ignored in") and the demo would go on: asked again until it stops.
            again = threading.Timer(REPEAT_S, self._again, args=(signum,))
            again.daemon = True
            again.start()
            raise KeyboardInterrupt

    def _again(self, signum: int) -> None:
        if not self.stopping:
            _thread.interrupt_main(signal.Signals(signum))

    def start(self, command: list[str]) -> None:
        self._starting = True
        try:
            self.processes.append(subprocess.Popen(command, process_group=0))
        finally:
            self._starting = False
        if self._stop_asked:
            raise KeyboardInterrupt

    def any_ended(self) -> bool:
        return any(process.poll() is not None for process in self.processes)

    def _alive(self, group: int) -> bool:
        for process in self.processes:
            process.poll()  # reap our own children, so an ended leader does not keep its group listed
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True

    def _signal(self, group: int, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signum)

    def stop(self) -> None:
        """TERM to every group, up to STOP_GRACE_S for them to end, then KILL to what is left."""
        self._stop_asked = self.stopping = True
        groups = [process.pid for process in self.processes]  # process_group=0: group id = leader's pid
        for group in groups:
            self._signal(group, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and any(self._alive(group) for group in groups):
            time.sleep(0.1)
        for group in groups:
            if self._alive(group):
                self._signal(group, signal.SIGKILL)
        for process in self.processes:
            process.wait()


class Command(BaseCommand):
    help = "Run the whole app on the embedded defaults: simulators, demo data, one worker, the web server."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_sync_argument(parser, always=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("the demo runs with DJANGO_DEBUG=1 (make demo sets it)")
        web_address = f"{WEB_HOST}:{settings.MEDIA_SYNC_DEMO_PORT}"
        children = Children()
        # Ctrl-C, or a TERM from whatever started us, stops every child process (see `finally`).
        signal.signal(signal.SIGINT, children.on_signal)
        signal.signal(signal.SIGTERM, children.on_signal)
        manage = [sys.executable, "manage.py"]
        try:
            call_command("migrate", interactive=False, verbosity=0)
            password = secrets.token_urlsafe(12)
            users = demo_users_reset(password=password)
            children.start([*manage, "run_simulators", "--demo"])
            simulators = urlsplit(settings.SIMULATOR_URL)
            wait_for_port(simulators.hostname or "127.0.0.1", simulators.port or 8001)
            loads = (
                ("orders", demo_orders_load),
                ("order documents", demo_documents_load),
                ("work orders", demo_work_orders_load),
            )
            for what, load in loads:
                job = load()
                self.stdout.write(
                    f"demo {what} mirrored: job {job.pk if job else '-'} {job.status if job else ''}"
                )
            checked = demo_checked_transfer()
            self.stdout.write(f"demo transfer checked at the provider (one copy missing): job {checked.pk}")
            failing = demo_open_failures()
            self.stdout.write(f"demo open failures: jobs {', '.join(str(job.pk) for job in failing)}")
            children.start([*manage, "qcluster"])
            children.start([*manage, "runserver", web_address, "--noreload"])
            wait_for_port(WEB_HOST, settings.MEDIA_SYNC_DEMO_PORT)
            # Booking.com fetches our photos from the web server: both steps wait for it.
            gallery_job = demo_booking_gallery()
            self.stdout.write(
                f"demo Booking.com gallery mirrored: job {gallery_job.pk if gallery_job else '-'}"
            )
            batch_job = demo_booking_batch_send()
            self.stdout.write(f"demo Booking.com batch queued: job {batch_job.pk}")
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nmedia-sync is up at http://{web_address}/admin/\n"
                    f"  logins ({', '.join(users)}), password for each: {password}\n"
                    "  admin: everything; operator: runs transfers; lead: reads and exports the audit\n"
                    "  try: RecoveryConnect photos > search 57076503 > select three > "
                    "'Transfer selected photos to orders…' > 9100002 9100005\n"
                    "  the simulator fails transfers to 9100003 (a closed order) and of locked photos\n"
                    "  lead: Open failures lists the demo's failed transfers to 9100003, grouped by cause\n"
                    f"  job {checked.pk}: checked at the provider, rear.jpg missing in order 9100004 "
                    "('Check at the provider' looks again)\n"
                    "  documents: RecoveryConnect orders > select 57076503 > 'Transfer documents of the "
                    "selected order to…' > 9100002\n"
                    "  CorrigoPro work orders 4100001-4100006: upload, download, edit, delete attachments;\n"
                    "  the simulated customer attaches a photo to 4100001 every 90 s (Webhook deliveries)\n"
                    "  Booking.com photo batches: the demo batch for NT7 ends within about two minutes\n"
                    "  Booking.com properties > NT7: its gallery, one photo added outside this app and one\n"
                    "  of ours removed at Booking.com; Up/Down orders it, 'Change tags' retags a photo\n"
                    "Ctrl-C stops everything.\n"
                )
            )
            while not children.any_ended():
                time.sleep(0.5)
            raise CommandError("a demo process stopped; shutting the rest down")
        except KeyboardInterrupt:
            children.stopping = True
            self.stdout.write("stopping…")
        finally:
            children.stop()
