"""What the job-starting commands share: --sync, the per-item lines, the exit codes (README, "Commands")."""

from __future__ import annotations

import getpass
import sys
from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from media_sync.models import ItemStatus, TransferItem, TransferJob
from media_sync.services.audit import audit_record_refusal
from media_sync.services.refusals import InputRefused
from media_sync.services.run import job_run

EXIT_FAILED = 1
EXIT_REFUSED = 2


class JobCommand(BaseCommand):
    """Without --sync: enqueue and print the job id. With --sync: run in-process through the same
    service code the workers use, print one line per item, exit 0 (all succeeded), 1 (any failed at
    the provider) or 2 (refused before any call: nothing sent, nothing written)."""

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_sync_argument(parser)
        parser.add_argument(
            "--user",
            default=f"cli:{getpass.getuser()}",
            help="name recorded as who ran it (default: cli:<login>)",
        )

    # What the audit names a refusal of this command as.
    provider = ""
    operation = ""

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        """The subject and item a refusal of this command names in the audit, from the options as typed."""
        return "", ""

    def start_job(self, options: dict[str, Any], start: Callable[[bool], TransferJob]) -> None:
        try:
            job = start(not options["sync"])
        except InputRefused as refusal:
            subject, item = self.refusal_about(options)
            raise refused(
                self.provider, self.operation, options["user"], refusal, subject=subject, item=item
            ) from None
        if not options["sync"]:
            self.stdout.write(f"job {job.pk} enqueued")
            return
        job_run(job_id=job.pk)
        report_items(self, job)


def add_sync_argument(parser: ArgumentParser, *, always: bool = False) -> None:
    """--sync on every command, so a script can pass it everywhere (README, Commands). `always`: the command
    runs in-process anyway, and takes it without changing anything."""
    help = "accepted for scripts; this command always runs in this process" if always else None
    parser.add_argument(
        "--sync", action="store_true", help=help or "run now, in this process, and report each item"
    )


def refused(
    provider: str, operation: str, user: str, refusal: InputRefused, *, subject: str = "", item: str = ""
) -> CommandError:
    """The refusal goes to the audit, and out as one line on stderr with exit code 2."""
    audit_record_refusal(
        provider=provider,
        operation=operation,
        triggered_by=user,
        message=str(refusal),
        subject=subject,
        item=item,
    )
    return CommandError(str(refusal), returncode=EXIT_REFUSED)


def item_line(item: TransferItem) -> str:
    """`<item> -> <destination>: <outcome> [<provider code>] <message>` (README, "Commands")."""
    code = item.provider_status or item.error_code or (str(item.http_status) if item.http_status else "-")
    return f"{item.item} -> {item.destination or 'mirror'}: {item.status} [{code}] {item.message}".rstrip()


def report_items(command: BaseCommand, job: TransferJob) -> None:
    """One line per item; exit 1 when any failed. An item the provider still decides on (a Booking.com
    photo in a batch) has not failed."""
    failed = False
    for item in job.items.order_by("id"):
        failed |= item.status not in (ItemStatus.SUCCEEDED, ItemStatus.WAITING)
        command.stdout.write(item_line(item))
    if failed:
        sys.exit(EXIT_FAILED)
