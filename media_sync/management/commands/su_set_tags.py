from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.db import transaction

from media_sync.management.jobcommand import JobCommand
from media_sync.management.su_options import add_property_arguments, property_of
from media_sync.models import Operation, Provider, TransferJob
from media_sync.services.suapi_gallery import su_tags_ensure
from media_sync.services.suapi_gallery_jobs import su_set_tags_start


class Command(JobCommand):
    provider = Provider.SUAPI
    operation = Operation.SU_SET_TAGS
    help = (
        "Replace a Booking.com photo's tags (update). Tags are ids from Booking.com's tag list (the admin "
        "shows their names); a tag named twice or not in the list is refused before anything is sent."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_property_arguments(parser)
        parser.add_argument("--photo", required=True, metavar="PHOTO_ID", help="Booking.com photo id")
        parser.add_argument(
            "--tag", action="append", type=int, required=True, metavar="N", help="tag id (repeatable)"
        )
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"property {options['hotel']}", options["photo"]

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> TransferJob:
            # Outside the transaction: the tag list's exchange rows stay in the audit whatever follows.
            su_tags_ensure(triggered_by=options["user"])
            with transaction.atomic():  # a refusal leaves no property behind
                return su_set_tags_start(
                    property=property_of(options),
                    photo_id=options["photo"],
                    tags=options["tag"],
                    triggered_by=options["user"],
                    enqueue=enqueue,
                )

        self.start_job(options, start)
