from __future__ import annotations

import threading
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.corrigopro.simulator import DEMO_WORK_ORDERS, CorrigoProSimulator
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults, labelled_jpeg, serve_many
from integrations.suapi.simulator import SuApiSimulator
from media_sync.management.jobcommand import add_sync_argument

# In the demo, CorrigoPro's customer attaches a photo this often, so the webhook path is visible.
CUSTOMER_EVERY_S = 90.0
CUSTOMER_FIRST_AFTER_S = 30.0


def customer_keeps_attaching(corrigopro: CorrigoProSimulator, stop: threading.Event) -> None:
    work_order_id = DEMO_WORK_ORDERS[0][0]
    number = 0
    delay = CUSTOMER_FIRST_AFTER_S
    while not stop.wait(delay):
        number += 1
        name = f"customer-photo-{number}.jpg"
        corrigopro.customer_add_attachment(work_order_id, name=name, content=labelled_jpeg(name[:-4]))
        delay = CUSTOMER_EVERY_S


class Command(BaseCommand):
    help = "Serve the built-in provider simulators (DEBUG only) until Ctrl-C."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--demo", action="store_true", help="demo data, a little latency, an active customer"
        )
        add_sync_argument(parser, always=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "the simulators run only with DJANGO_DEBUG=1; they are never part of production"
            )
        address = urlsplit(settings.SIMULATOR_URL)
        recoveryconnect = RecoveryConnectSimulator()
        corrigopro = CorrigoProSimulator(webhook_url=settings.DEMO_WEBHOOK_URL)
        suapi = SuApiSimulator(mount_prefix="/suapi")
        # The app pins this certificate to check the simulator's webhook tokens (settings.CORRIGOPRO).
        certificate = Path(settings.CORRIGOPRO["WEBHOOK_CERTIFICATE"])
        certificate.parent.mkdir(parents=True, exist_ok=True)
        corrigopro.save_certificate(certificate)
        stop = threading.Event()
        if options["demo"]:
            recoveryconnect.seed_demo()
            corrigopro.seed_demo()
            # Pictures worth a thumbnail (the seed's own are 8x8 pixels, enough for the tests).
            for work_order in corrigopro.work_orders.values():
                for attachment in work_order.attachments:
                    if attachment.mime_type == "image/jpeg":
                        attachment.content = labelled_jpeg(attachment.name.rsplit(".", 1)[0], "CorrigoPro")
            suapi.seed_demo()
            # Slow enough to watch a job progress; a few 5xx so the audit shows retries.
            recoveryconnect.faults = Faults(latency_s=0.4, error_rate=0.05, seed=7)
            corrigopro.faults = Faults(latency_s=0.2, seed=7)
            threading.Thread(target=customer_keeps_attaching, args=(corrigopro, stop), daemon=True).start()
        server = serve_many(
            {"/recoveryconnect": recoveryconnect, "/corrigopro": corrigopro, "/suapi": suapi},
            host=address.hostname or "127.0.0.1",
            port=address.port or 8001,
        )
        self.stdout.write(f"simulators listening at {server.url} (recoveryconnect, corrigopro, suapi)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            server.stop()
