"""verify_audit: seal what is due, then re-compute the audit's hash chain (services/seals.py); or check an
export against its manifest, or an archive on its own (services/manifests.py)."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from media_sync.management.commands.export_audit import iso_date
from media_sync.management.jobcommand import EXIT_FAILED, add_sync_argument
from media_sync.services.audit_archive import archive_verify
from media_sync.services.manifests import export_verify
from media_sync.services.seals import Verification, audit_verify


class Command(BaseCommand):
    help = (
        "Re-check the audit's hash chain and exit 1 naming every row edited, deleted or inserted out of "
        "order; or check an export against its manifest (--export, --manifest), or an archive (--archive)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--since", type=iso_date, help="check the seals made on or after this day")
        parser.add_argument("--export", type=existing, help="an export's CSV file to check (with --manifest)")
        parser.add_argument("--manifest", type=existing, help="the manifest written with that export")
        parser.add_argument("--archive", type=existing, help="an archive's directory to check on its own")
        add_sync_argument(parser, always=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["export"]) != bool(options["manifest"]):
            raise CommandError("--export and --manifest go together", returncode=2)
        if options["export"]:
            problems = export_verify(export=options["export"], manifest_path=options["manifest"])
            self.report(Verification(problems=problems), f"export {options['export'].name}")
            return
        if options["archive"]:
            self.report(
                Verification(problems=archive_verify(options["archive"])), f"archive {options['archive']}"
            )
            return
        self.report(audit_verify(since=options["since"]), "audit")

    def report(self, result: Verification, what: str) -> None:
        for problem in result.problems:
            self.stdout.write(problem)
        summary = f"{what}: {result.seals} seals, {result.rows} rows checked" if result.seals else what
        if result.ok:
            self.stdout.write(f"{summary}: intact")
            return
        count = len(result.problems)
        self.stderr.write(f"{summary}: {count} problem{'' if count == 1 else 's'}")
        sys.exit(EXIT_FAILED)


def existing(value: str) -> Path:
    path = Path(value)
    if not path.exists():
        raise CommandError(f"{value}: no such file or directory", returncode=2)
    return path
