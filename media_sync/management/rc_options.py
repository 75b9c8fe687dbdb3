"""What the RecoveryConnect commands share: the orders to refresh, a transfer's source order and its
destinations, each read and checked once."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from media_sync.management.jobcommand import JobCommand
from media_sync.models import Provider, TransferJob
from media_sync.services.audit import audit_name_items
from media_sync.services.ids import parse_ids
from media_sync.services.recoveryconnect import rc_check_destination_count


def add_transfer_arguments(parser: ArgumentParser) -> None:
    """--order (the source) and --to (repeatable), of rc_transfer and rc_transfer_documents."""
    parser.add_argument("--order", required=True, help="internal order id of the source order")
    parser.add_argument(
        "--to",
        required=True,
        action="append",
        metavar="CLIENT_ORDER_ID",
        help="destination client order id (repeatable)",
    )


def transfer_source_and_destinations(options: dict[str, Any]) -> tuple[int, list[int]]:
    """The source order id and the destinations, parsed and counted (InputRefused when off)."""
    (order_id,) = parse_ids([options["order"]], what="order id")
    destinations = parse_ids(options["to"])
    rc_check_destination_count(destinations)
    return order_id, destinations


class OrderRefreshCommand(JobCommand):
    """rc_sync_photos and rc_sync_documents: --order (repeatable), one refresh job for them all."""

    provider = Provider.RECOVERYCONNECT

    def refresh_start(self, *, order_ids: list[int], triggered_by: str, enqueue: bool) -> TransferJob:
        raise NotImplementedError

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--order", required=True, action="append", help="internal order id (repeatable)")
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return audit_name_items([f"order {order}" for order in options["order"]], "orders"), ""

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> TransferJob:
            order_ids = parse_ids(options["order"], what="order id")
            return self.refresh_start(order_ids=order_ids, triggered_by=options["user"], enqueue=enqueue)

        self.start_job(options, start)
