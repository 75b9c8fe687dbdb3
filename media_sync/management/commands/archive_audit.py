"""archive_audit: old audit rows to CSV with a signed manifest, in a directory or in S3, verified there, then
removed (services/audit_archive.py, services/archive_store.py)."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from media_sync.management.commands.export_audit import iso_date
from media_sync.management.jobcommand import EXIT_FAILED, add_sync_argument
from media_sync.services.archive_store import ArchivePlace, archive_place
from media_sync.services.audit_archive import ArchiveFailed, ArchiveRefused, audit_archive


class Command(BaseCommand):
    help = (
        "Write the audit rows older than --before (whole seals) under --output (a directory, or "
        "s3://BUCKET/PREFIX) as CSV with a signed manifest, verify what is there, then remove them from "
        "the database."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--before", type=iso_date, required=True, help="rows before this day (YYYY-MM-DD)"
        )
        parser.add_argument(
            "--output",
            type=place,
            required=True,
            help="the directory, or s3://BUCKET/PREFIX, that the archive's own directory (or key) goes in",
        )
        add_sync_argument(parser, always=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = audit_archive(before=options["before"], output=options["output"])
        except ArchiveRefused as refused:
            raise CommandError(str(refused), returncode=2) from None
        except FileExistsError as error:
            raise CommandError(f"{error.filename} exists already: nothing archived", returncode=2) from None
        except OSError as error:
            # Not written (a bucket missing, credentials refused, S3 out of reach, a disk full): the rows
            # are all still there. The message names the place and the refusal, never a credential.
            self.stdout.write(str(error))
            self.stderr.write("the archive could not be written: no row was removed")
            sys.exit(EXIT_FAILED)
        except ArchiveFailed as failed:
            for problem in failed.problems:
                self.stdout.write(problem)
            self.stderr.write("the archive did not verify: no row was removed")
            sys.exit(EXIT_FAILED)
        for line in report.lines():
            self.stdout.write(line)


def place(value: str) -> ArchivePlace:
    try:
        return archive_place(value)
    except ValueError as error:
        raise CommandError(str(error), returncode=2) from None
