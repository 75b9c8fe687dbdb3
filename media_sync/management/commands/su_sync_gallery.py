from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from media_sync.management.jobcommand import JobCommand
from media_sync.management.su_options import add_property_arguments, property_of
from media_sync.models import Operation, Provider, TransferJob
from media_sync.services.suapi_gallery import su_gallery_sync_start


class Command(JobCommand):
    provider = Provider.SUAPI
    operation = Operation.SU_SYNC_GALLERY
    help = (
        "Refresh a property's gallery from Booking.com (retrieveAll, retrieveAssociateImages, each room's "
        "gallery): each photo is linked to the one we sent, recorded as added outside this app, or marked "
        "removed at Booking.com."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_property_arguments(parser)
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"property {options['hotel']}", "gallery"

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> TransferJob:
            return su_gallery_sync_start(
                property=property_of(options), triggered_by=options["user"], enqueue=enqueue
            )

        self.start_job(options, start)
