from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults, serve_many


class Command(BaseCommand):
    help = "Serve the built-in provider simulators (DEBUG only) until Ctrl-C."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--demo", action="store_true", help="load the demo data and a little latency")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "the simulators run only with DJANGO_DEBUG=1; they are never part of production"
            )
        address = urlsplit(settings.SIMULATOR_URL)
        recoveryconnect = RecoveryConnectSimulator()
        if options["demo"]:
            recoveryconnect.seed_demo()
            # Slow enough to watch a job progress; a few 5xx so the audit shows retries.
            recoveryconnect.faults = Faults(latency_s=0.4, error_rate=0.05, seed=7)
        server = serve_many(
            {"/recoveryconnect": recoveryconnect},
            host=address.hostname or "127.0.0.1",
            port=address.port or 8001,
        )
        self.stdout.write(f"simulators listening at {server.url} (recoveryconnect)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
