from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.db import transaction

from media_sync.management.jobcommand import JobCommand
from media_sync.management.su_options import add_property_arguments, property_of
from media_sync.models import Operation, Provider, TransferJob
from media_sync.services.audit import audit_name_items
from media_sync.services.suapi_gallery_jobs import su_room_get_or_create, su_room_photos_start


class Command(JobCommand):
    provider = Provider.SUAPI
    operation = Operation.SU_ROOM_PHOTOS
    help = (
        "Add photos of a property to a room's gallery at Booking.com (--associate) or take them out of it "
        "(--unassociate). The room is named by its channel_room_id and recorded on first use."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_property_arguments(parser)
        parser.add_argument("--room", required=True, metavar="ROOM_ID", help="the room's channel_room_id")
        verb = parser.add_mutually_exclusive_group(required=True)
        verb.add_argument("--associate", action="store_true", help="add the photos to the room")
        verb.add_argument("--unassociate", action="store_true", help="take the photos out of the room")
        parser.add_argument(
            "--photo", action="append", required=True, metavar="ID", help="photo id (repeatable)"
        )
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"property {options['hotel']}", audit_name_items(options["photo"], "photos")

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> TransferJob:
            with transaction.atomic():
                room = su_room_get_or_create(property=property_of(options), channel_room_id=options["room"])
                return su_room_photos_start(
                    room=room,
                    photo_ids=options["photo"],
                    add=options["associate"],
                    triggered_by=options["user"],
                    enqueue=enqueue,
                )

        self.start_job(options, start)
