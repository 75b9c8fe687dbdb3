from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.files import File

from media_sync.management.corrigo import add_metadata_arguments, add_work_order_argument, work_order_from
from media_sync.management.jobcommand import JobCommand
from media_sync.models import Operation, Provider, TransferJob
from media_sync.services.corrigopro import cp_upload_start
from media_sync.services.refusals import InputRefused


class Command(JobCommand):
    provider = Provider.CORRIGOPRO
    operation = Operation.CP_UPLOAD
    help = "Upload one file to a CorrigoPro work order (checked first: size, extension, type from its bytes)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_work_order_argument(parser)
        parser.add_argument("--file", required=True, metavar="PATH")
        add_metadata_arguments(parser)
        parser.add_argument("--performed-by", metavar="NAME", help="who did the work (default: --user)")
        parser.add_argument("--mime-type", default="", help="default: read from the file's bytes")
        parser.add_argument(
            "--upload-anyway",
            action="store_true",
            help="send it even when the same bytes are already attached to the work order (else: refused)",
        )
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"work order {options['work_order']}", options["name"] or Path(options["file"]).name

    def handle(self, *args: Any, **options: Any) -> None:
        def start(enqueue: bool) -> TransferJob:
            work_order = work_order_from(options)
            path = Path(options["file"])
            if not path.is_file():
                raise InputRefused(f"{path} is not a readable file")
            with path.open("rb") as handle:
                return cp_upload_start(
                    work_order=work_order,
                    source=File(handle, name=path.name),
                    name=options["name"] or path.name,
                    mime_type=options["mime_type"],
                    document_type=options["document_type"],
                    visibility=options["visibility"],
                    performed_by=options["performed_by"] or options["user"],
                    triggered_by=options["user"],
                    enqueue=enqueue,
                    again=options["upload_anyway"],
                )

        self.start_job(options, start)
