from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from media_sync.management.jobcommand import JobCommand
from media_sync.management.rc_options import add_transfer_arguments, transfer_source_and_destinations
from media_sync.models import Operation, Provider, RecoveryConnectOrder
from media_sync.services.recoveryconnect_documents import (
    rc_transfer_documents_plan,
    rc_transfer_documents_start,
)
from media_sync.services.refusals import InputRefused


class Command(JobCommand):
    provider = Provider.RECOVERYCONNECT
    operation = Operation.RC_TRANSFER_DOCUMENTS
    help = (
        "Transfer every document of an order to other orders at RecoveryConnect (one call: it moves all "
        "the order's documents, none can be left out). Refresh the order's documents first "
        "(rc_sync_documents)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_transfer_arguments(parser)
        parser.add_argument(
            "--again",
            action="store_true",
            help="send to orders the documents already reached (else: such an order is skipped, and one "
            "that holds only some of them is refused)",
        )
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"order {options['order']}", "all documents"

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> Any:
            order_id, destinations = transfer_source_and_destinations(options)
            order = RecoveryConnectOrder.objects.filter(order_id=order_id).first()
            if order is None:
                raise InputRefused(
                    f"order {order_id} is not mirrored here: refresh its documents first "
                    f"(rc_sync_documents --order {order_id})"
                )
            _, _, skipped = rc_transfer_documents_plan(
                order=order, destinations=destinations, again=options["again"]
            )
            for destination in skipped:
                self.stdout.write(
                    f"all documents -> {destination}: skipped, every document already transferred there "
                    "(--again sends them again)"
                )
            return rc_transfer_documents_start(
                order=order,
                destinations=destinations,
                triggered_by=options["user"],
                again=options["again"],
                enqueue=enqueue,
            )

        self.start_job(options, start)
