from __future__ import annotations

import getpass
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from media_sync.management.corrigo import add_work_order_argument, attachment_from
from media_sync.management.jobcommand import add_sync_argument, refused, report_items
from media_sync.models import ItemStatus, Operation, Provider
from media_sync.services.corrigopro_download import DownloadFailed, cp_download
from media_sync.services.refusals import InputRefused


class Command(BaseCommand):
    help = "Fetch a fresh download link (never stored) and save the attachment's file. Runs in this process."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_work_order_argument(parser)
        parser.add_argument("--attachment", required=True, metavar="GUID")
        parser.add_argument("--output", required=True, metavar="PATH", help="where to save the file")
        parser.add_argument("--user", default=f"cli:{getpass.getuser()}", help="name recorded as who ran it")
        add_sync_argument(parser, always=True)

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(options["output"])
        about = (Provider.CORRIGOPRO, Operation.CP_DOWNLOAD, options["user"])
        subject = f"work order {options['work_order']}"
        if target.is_dir():  # found now, not when the finished download cannot be renamed onto it
            refusal = InputRefused(f"cannot write {target}: it is a directory")
            raise refused(*about, refusal, subject=subject, item=options["attachment"])
        # Written beside the target and renamed when complete: a broken download leaves no half file.
        partial = target.with_name(target.name + ".partial")
        try:
            out = partial.open("wb")
        except OSError as exc:
            refusal = InputRefused(f"cannot write {target}: {exc.strerror}")
            raise refused(*about, refusal, subject=subject, item=options["attachment"]) from None
        complete = False
        try:
            with out:
                download = cp_download(attachment=attachment_from(options), triggered_by=options["user"])
                job = download.job
                try:
                    for chunk in download.chunks:
                        out.write(chunk)
                except OSError:
                    download.chunks.close()  # the item is recorded as failed
            complete = job.items.get().status == ItemStatus.SUCCEEDED
        except InputRefused as refusal:
            raise refused(*about, refusal, subject=subject, item=options["attachment"]) from None
        except DownloadFailed as failure:
            job = failure.job
        finally:
            if complete:
                partial.replace(target)
            else:
                partial.unlink(missing_ok=True)
        report_items(self, job)
