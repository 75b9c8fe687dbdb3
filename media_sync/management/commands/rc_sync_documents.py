from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from media_sync.management.jobcommand import JobCommand
from media_sync.models import Operation, Provider
from media_sync.services.audit import audit_name_items
from media_sync.services.ids import parse_ids
from media_sync.services.recoveryconnect_documents import rc_documents_refresh_start


class Command(JobCommand):
    provider = Provider.RECOVERYCONNECT
    operation = Operation.RC_SYNC_DOCUMENTS
    help = (
        "List an order's documents at RecoveryConnect and mirror them (name, who uploaded, when; never "
        "the download link)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--order", required=True, action="append", help="internal order id (repeatable)")
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return audit_name_items([f"order {order}" for order in options["order"]], "orders"), ""

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> Any:
            order_ids = parse_ids(options["order"], what="order id")
            return rc_documents_refresh_start(
                order_ids=order_ids, triggered_by=options["user"], enqueue=enqueue
            )

        self.start_job(options, start)
