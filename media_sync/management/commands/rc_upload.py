from __future__ import annotations

from argparse import ArgumentParser
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.files import File

from media_sync.management.jobcommand import JobCommand
from media_sync.models import Operation, Provider, RecoveryConnectOrder, TransferJob
from media_sync.services.audit import audit_name_items
from media_sync.services.ids import parse_ids
from media_sync.services.recoveryconnect_upload import UploadSource, rc_parse_picture_time, rc_upload_start
from media_sync.services.refusals import InputRefused


class Command(JobCommand):
    provider = Provider.RECOVERYCONNECT
    operation = Operation.RC_UPLOAD_PHOTOS
    help = (
        "Upload photos to a recovery of a RecoveryConnect order (each file checked first: a picture, under "
        "RECOVERYCONNECT_MAX_UPLOAD_BYTES; one refused file sends none)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--order", required=True, metavar="ID", help="internal order id")
        parser.add_argument(
            "--recovery", metavar="RID", help="recovery id (may be left out when the order has one recovery)"
        )
        parser.add_argument("--file", required=True, action="append", metavar="PATH", help="repeatable")
        parser.add_argument(
            "--type", metavar="N", help="attachment type id (default: 2, a general photo; personal: none)"
        )
        parser.add_argument(
            "--picture-time",
            metavar='"YYYY-MM-DD HH:MM:SS"',
            help="when the pictures were taken (default: each photo's EXIF time, else the file's time)",
        )
        parser.add_argument("--caption", default="", help="the image name sent (default: each file's name)")
        parser.add_argument("--personal", action="store_true", help="personal-property photos")
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"order {options['order']}", audit_name_items([Path(f).name for f in options["file"]], "files")

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> TransferJob:
            (order_id,) = parse_ids([options["order"]], what="order id")
            recovery_id = (
                parse_ids([options["recovery"]], what="recovery id")[0] if options["recovery"] else None
            )
            type_id = parse_ids([options["type"]], what="photo type id")[0] if options["type"] else None
            picture_time = rc_parse_picture_time(options["picture_time"]) if options["picture_time"] else None
            # An order not mirrored: an unsaved stand-in, refused for knowing no recovery (nothing written).
            order = RecoveryConnectOrder.objects.filter(order_id=order_id).first() or RecoveryConnectOrder(
                order_id=order_id
            )
            paths = [Path(name) for name in options["file"]]
            for path in paths:
                if not path.is_file():
                    raise InputRefused(f"{path} is not a readable file")
            with ExitStack() as stack:
                files = [
                    UploadSource(
                        source=File(stack.enter_context(path.open("rb")), name=path.name),
                        name=path.name,
                        file_time=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
                    )
                    for path in paths
                ]
                return rc_upload_start(
                    order=order,
                    files=files,
                    recovery_id=recovery_id,
                    type_id=type_id,
                    caption=options["caption"],
                    personal=options["personal"],
                    picture_time=picture_time,
                    triggered_by=options["user"],
                    enqueue=enqueue,
                )

        self.start_job(options, start)
