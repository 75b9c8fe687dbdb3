from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from media_sync.management.jobcommand import add_sync_argument
from media_sync.services.retention import prune


class Command(BaseCommand):
    help = (
        "Remove expired sessions, webhook deliveries and background task rows past "
        "MEDIA_SYNC_RETENTION_DAYS, and the files of work finished over MEDIA_SYNC_MEDIA_GRACE_DAYS ago. "
        "Never the audit, never a file an open job or a Booking.com gallery photo needs. "
        "A daily schedule runs it too."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would go, remove nothing")
        add_sync_argument(parser, always=True)

    def handle(self, *args: Any, **options: Any) -> None:
        report = prune(dry_run=options["dry_run"])
        prefix = "would remove " if options["dry_run"] else "removed "
        for line in report.lines():
            self.stdout.write(prefix + line)
