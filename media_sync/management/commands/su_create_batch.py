from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Generator
from contextlib import closing
from pathlib import Path
from typing import Any

from django.core.files import File

from media_sync.management.jobcommand import JobCommand
from media_sync.models import Operation, Provider, TransferJob
from media_sync.services.audit import audit_name_items
from media_sync.services.refusals import InputRefused
from media_sync.services.suapi import su_batch_start_from_files


class Command(JobCommand):
    provider = Provider.SUAPI
    operation = Operation.SU_CREATE_BATCH
    help = (
        "Send photos to Booking.com as a new batch: local files (checked and stored first, then offered "
        "through signed links) or public URLs. Each photo's final status comes later: su_pending."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--hotel", required=True, metavar="H", help="SU hotel_id")
        parser.add_argument(
            "--channel-hotel", required=True, metavar="C", help="Booking.com channel_hotel_id"
        )
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--file", action="append", metavar="PATH", help="a photo file (repeatable)")
        source.add_argument("--url", action="append", metavar="URL", help="a public photo URL (repeatable)")
        parser.add_argument(
            "--tag", action="append", type=int, default=[], metavar="N", help="tag id (repeatable)"
        )
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        names = [Path(name).name for name in options["file"] or []] or options["url"] or []
        return f"property {options['hotel']}", audit_name_items(names, "photos")

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> TransferJob:
            hotel, channel = options["hotel"].strip(), options["channel_hotel"].strip()
            if not hotel or not channel:
                raise InputRefused("--hotel and --channel-hotel must not be empty")
            with closing(opened(options["file"] or [])) as files:
                return su_batch_start_from_files(
                    hotel_id=hotel,
                    channel_hotel_id=channel,
                    files=files,
                    urls=options["url"],
                    tags=options["tag"],
                    triggered_by=options["user"],
                    enqueue=enqueue,
                )

        self.start_job(options, start)


def opened(names: list[str]) -> Generator[File, None, None]:
    """Each file open while the service takes it in, checked only when its turn comes: a refusal names
    the first file that fails, in the order given."""
    for name in names:
        path = Path(name)
        if not path.is_file():
            raise InputRefused(f"{path} is not a readable file")
        with path.open("rb") as handle:
            yield File(handle, name=path.name)
