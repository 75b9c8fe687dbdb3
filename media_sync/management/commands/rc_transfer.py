from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from media_sync.management.jobcommand import JobCommand
from media_sync.models import RecoveryConnectOrder
from media_sync.services.audit import audit_name_items
from media_sync.services.jobs import InputRefused, parse_ids
from media_sync.services.recoveryconnect import (
    rc_check_destination_count,
    rc_transfer_all_start,
    rc_transfer_photos_start,
)


class Command(JobCommand):
    provider = "recoveryconnect"
    operation = "rc_transfer"
    help = (
        "Transfer an order's photos to other orders at RecoveryConnect. With --photo: one "
        "transfer-specific-photo call per photo; without: the transfer-all-photos call."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--order", required=True, help="internal order id of the source order")
        parser.add_argument(
            "--to",
            required=True,
            action="append",
            metavar="CLIENT_ORDER_ID",
            help="destination client order id (repeatable)",
        )
        parser.add_argument("--photo", action="append", metavar="PHOTO_ID", help="photo id (repeatable)")
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"order {options['order']}", audit_name_items(options["photo"] or ["all photos"], "photos")

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> Any:
            (order_id,) = parse_ids([options["order"]], what="order id")
            destinations = parse_ids(options["to"])
            rc_check_destination_count(destinations)
            order = RecoveryConnectOrder.objects.filter(order_id=order_id).first()
            if order is None:
                raise InputRefused(
                    f"order {order_id} is not known here: run rc_sync_photos --order {order_id} first"
                )
            if not options["photo"]:
                return rc_transfer_all_start(
                    order=order, destinations=destinations, triggered_by=options["user"], enqueue=enqueue
                )
            photo_ids = parse_ids(options["photo"], what="photo id")
            photos = list(order.photos.filter(photo_id__in=photo_ids).select_related("order"))
            missing = sorted(set(photo_ids) - {photo.photo_id for photo in photos})
            if missing:
                raise InputRefused(
                    f"photo {', '.join(map(str, missing))} is not a photo of order {order_id} "
                    f"(refresh with rc_sync_photos --order {order_id})"
                )
            return rc_transfer_photos_start(
                photos=photos, destinations=destinations, triggered_by=options["user"], enqueue=enqueue
            )

        self.start_job(options, start)
