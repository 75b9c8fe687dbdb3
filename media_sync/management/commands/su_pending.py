from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from media_sync.management.jobcommand import add_sync_argument, refused, report_items
from media_sync.models import Operation, Provider, SuBatch
from media_sync.services.refusals import InputRefused
from media_sync.services.suapi import su_property_get_or_create
from media_sync.services.suapi_polls import su_batch_follow, su_poll_now


class Command(BaseCommand):
    help = (
        "Read a batch's pending photos at the SU API now and record each status; one line per photo. A "
        "batch id sent from elsewhere is recorded and followed from then on, like ours. Runs in this "
        "process. Exit 0 when none failed (some may still be waiting), 1 when any failed, 2 for bad input."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--hotel", required=True, metavar="H")
        parser.add_argument("--channel-hotel", required=True, metavar="C")
        parser.add_argument("--batch", required=True, metavar="ID", help="the photo batch id create answered")
        parser.add_argument("--user", default="cli", help="name recorded as who asked")
        add_sync_argument(parser, always=True)

    def handle(self, *args: Any, **options: Any) -> None:
        hotel, channel = options["hotel"].strip(), options["channel_hotel"].strip()
        batch = (
            SuBatch.objects.select_related("job", "property")
            .filter(batch_id=options["batch"], property__hotel_id=hotel, property__channel_hotel_id=channel)
            .first()
        )
        try:
            if batch is None:
                if not hotel or not channel:
                    raise InputRefused("--hotel and --channel-hotel must not be empty")
                property = su_property_get_or_create(hotel_id=hotel, channel_hotel_id=channel)
                batch = su_batch_follow(
                    property=property,
                    batch_id=options["batch"],
                    triggered_by=options["user"],
                )
                self.stdout.write(f"batch {batch.batch_id} was not sent from here: recorded, and followed")
        except InputRefused as refusal:
            raise refused(
                Provider.SUAPI,
                Operation.PENDING_IMAGES,
                options["user"],
                refusal,
                subject=f"property {hotel}",
                item=options["batch"],
            ) from None
        su_poll_now(batch=batch)
        batch.refresh_from_db()
        if batch.status_reason:
            self.stdout.write(f"batch {batch.batch_id}: {batch.status} ({batch.status_reason})")
        report_items(self, batch.job)
        if batch.status_reason and not batch.job.items.exists():
            raise SystemExit(1)
