from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from media_sync.management.jobcommand import refused, report_items
from media_sync.models import SuBatch
from media_sync.services.jobs import InputRefused
from media_sync.services.suapi import su_poll_now


class Command(BaseCommand):
    help = (
        "Read a batch's pending photos at the SU API now and record each status; one line per photo. "
        "Exit 0 when none failed (some may still be waiting), 1 when any failed, 2 for an unknown batch."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--hotel", required=True, metavar="H")
        parser.add_argument("--channel-hotel", required=True, metavar="C")
        parser.add_argument("--batch", required=True, metavar="ID", help="the photo batch id create answered")
        parser.add_argument("--user", default="cli", help="name recorded for a refusal")

    def handle(self, *args: Any, **options: Any) -> None:
        batch = (
            SuBatch.objects.select_related("job", "property")
            .filter(
                batch_id=options["batch"],
                property__hotel_id=options["hotel"],
                property__channel_hotel_id=options["channel_hotel"],
            )
            .first()
        )
        if batch is None:
            where = f"hotel {options['hotel']} / {options['channel_hotel']}"
            refusal = InputRefused(f"no batch {options['batch']!r} of {where} was sent from here")
            raise refused(
                "suapi",
                "pendingImages",
                options["user"],
                refusal,
                subject=f"property {options['hotel']}",
                item=options["batch"],
            )
        su_poll_now(batch=batch)
        report_items(self, batch.job)
