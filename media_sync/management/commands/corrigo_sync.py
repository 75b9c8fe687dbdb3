from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from media_sync.management.corrigo import add_work_order_argument, work_order_from
from media_sync.management.jobcommand import JobCommand
from media_sync.models import Operation, Provider, TransferJob
from media_sync.services.corrigopro import cp_sync_start


class Command(JobCommand):
    provider = Provider.CORRIGOPRO
    operation = Operation.CP_SYNC
    help = "List a work order's attachments at CorrigoPro and mirror them."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_work_order_argument(parser)
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"work order {options['work_order']}", ""

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> TransferJob:
            work_order = work_order_from(options)
            return cp_sync_start(
                work_order_ids=[work_order.work_order_id], triggered_by=options["user"], enqueue=enqueue
            )

        self.start_job(options, start)
