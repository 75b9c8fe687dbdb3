from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.db import transaction

from media_sync.management.jobcommand import JobCommand
from media_sync.management.su_options import add_property_arguments, property_of
from media_sync.models import Operation, Provider, TransferJob
from media_sync.services.audit import audit_name_items
from media_sync.services.suapi_gallery_jobs import su_order_start, su_room_get_or_create


class Command(JobCommand):
    provider = Provider.SUAPI
    operation = Operation.SU_ORDER_PHOTOS
    help = (
        "Order a property's gallery at Booking.com (imageOrder), or with --room a room's gallery: the "
        "photos in the order given, the first becoming the main photo; photos not named follow them."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_property_arguments(parser)
        parser.add_argument(
            "--photo", action="append", required=True, metavar="ID", help="photo id, in order (repeatable)"
        )
        parser.add_argument("--room", metavar="ROOM_ID", help="the room's channel_room_id")
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"property {options['hotel']}", audit_name_items(options["photo"], "photos")

    def handle(self, *args: Any, **options: Any) -> None:
        @transaction.atomic  # a refusal leaves no property or room behind
        def start(enqueue: bool) -> TransferJob:
            property = property_of(options)
            room = None
            if options["room"] is not None:
                room = su_room_get_or_create(property=property, channel_room_id=options["room"])
            return su_order_start(
                property=property,
                photo_ids=options["photo"],
                room=room,
                triggered_by=options["user"],
                enqueue=enqueue,
            )

        self.start_job(options, start)
