"""archive_audit: old audit rows to CSV with a signed manifest, verified, then removed
(services/audit_archive.py)."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from media_sync.management.commands.export_audit import iso_date
from media_sync.management.jobcommand import EXIT_FAILED, add_sync_argument
from media_sync.services.audit_archive import ArchiveFailed, ArchiveRefused, audit_archive


class Command(BaseCommand):
    help = (
        "Write the audit rows older than --before (whole seals) to a new directory under --output as CSV "
        "with a signed manifest, verify them there, then remove them from the database."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--before", type=iso_date, required=True, help="rows before this day (YYYY-MM-DD)"
        )
        parser.add_argument("--output", required=True, help="directory the archive's own directory goes in")
        add_sync_argument(parser, always=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if "://" in options["output"]:
            raise CommandError(
                "--output is a directory here; object storage is not supported yet", returncode=2
            )
        try:
            report = audit_archive(before=options["before"], output=Path(options["output"]))
        except ArchiveRefused as refused:
            raise CommandError(str(refused), returncode=2) from None
        except FileExistsError as error:
            raise CommandError(f"{error.filename} exists already: nothing archived", returncode=2) from None
        except ArchiveFailed as failed:
            for problem in failed.problems:
                self.stdout.write(problem)
            self.stderr.write("the archive did not verify: no row was removed")
            sys.exit(EXIT_FAILED)
        for line in report.lines():
            self.stdout.write(line)
