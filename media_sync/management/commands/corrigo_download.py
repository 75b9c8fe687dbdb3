from __future__ import annotations

import getpass
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from media_sync.management.corrigo import add_work_order_argument, attachment_from
from media_sync.management.jobcommand import EXIT_REFUSED, refused, report_items
from media_sync.services.corrigopro import DownloadFailed, cp_download
from media_sync.services.jobs import InputRefused


class Command(BaseCommand):
    help = "Fetch a fresh download link (never stored) and save the attachment's file. Runs in this process."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_work_order_argument(parser)
        parser.add_argument("--attachment", required=True, metavar="GUID")
        parser.add_argument("--output", required=True, metavar="PATH", help="where to save the file")
        parser.add_argument("--user", default=f"cli:{getpass.getuser()}", help="name recorded as who ran it")

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(options["output"])
        if not target.parent.is_dir():
            raise CommandError(f"cannot write {target}: no such directory", returncode=EXIT_REFUSED)
        try:
            download = cp_download(attachment=attachment_from(options), triggered_by=options["user"])
        except InputRefused as refusal:
            raise refused("corrigopro", "cp_download", options["user"], refusal) from None
        except DownloadFailed as failure:
            report_items(self, failure.job)
            return
        # Written beside the target and renamed when complete: a broken download leaves no half file.
        partial = target.with_name(target.name + ".partial")
        try:
            with partial.open("wb") as out:
                for chunk in download.chunks:
                    out.write(chunk)
            partial.replace(target)
        except OSError:
            download.chunks.close()  # records the item as failed
            partial.unlink(missing_ok=True)
        report_items(self, download.job)
