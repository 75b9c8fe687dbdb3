from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from media_sync.management.corrigo import add_metadata_arguments, add_work_order_argument, attachment_from
from media_sync.management.jobcommand import JobCommand
from media_sync.models import Operation, Provider, TransferJob
from media_sync.services.corrigopro import cp_update_start
from media_sync.services.refusals import InputRefused


class Command(JobCommand):
    provider = Provider.CORRIGOPRO
    operation = Operation.CP_UPDATE
    help = "Change a CorrigoPro attachment's name, document type or visibility (not the file itself)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_work_order_argument(parser)
        parser.add_argument("--attachment", required=True, metavar="GUID")
        add_metadata_arguments(parser)
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"work order {options['work_order']}", options["attachment"]

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> TransferJob:
            attachment = attachment_from(options)
            name = options["name"] or attachment.name
            if not name:
                raise InputRefused("give --name: CorrigoPro needs the name with every change")
            return cp_update_start(
                attachment=attachment,
                name=name,
                document_type=options["document_type"],
                visibility=options["visibility"],
                triggered_by=options["user"],
                enqueue=enqueue,
            )

        self.start_job(options, start)
