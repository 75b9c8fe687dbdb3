from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from media_sync.management.corrigo import add_work_order_argument, attachment_from
from media_sync.management.jobcommand import JobCommand
from media_sync.models import Operation, Provider, TransferJob
from media_sync.services.corrigopro import cp_delete_start


class Command(JobCommand):
    provider = Provider.CORRIGOPRO
    operation = Operation.CP_DELETE
    help = "Delete an attachment from a CorrigoPro work order."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_work_order_argument(parser)
        parser.add_argument("--attachment", required=True, metavar="GUID")
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"work order {options['work_order']}", options["attachment"]

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> TransferJob:
            return cp_delete_start(
                attachment=attachment_from(options), triggered_by=options["user"], enqueue=enqueue
            )

        self.start_job(options, start)
