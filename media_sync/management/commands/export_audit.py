from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from media_sync.management.jobcommand import add_sync_argument
from media_sync.models import Outcome, Provider
from media_sync.reports import audit_csv_lines, summary_csv_lines
from media_sync.selectors import audit_filter


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date: use YYYY-MM-DD", returncode=2) from None


class Command(BaseCommand):
    help = "Write the audit as CSV (the same columns as the admin's export), streamed row by row."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--output", required=True, help="file to write, or - for standard output")
        parser.add_argument("--since", type=iso_date, help="first day included (YYYY-MM-DD)")
        parser.add_argument("--until", type=iso_date, help="last day included (YYYY-MM-DD)")
        parser.add_argument("--provider", choices=Provider.values)
        parser.add_argument("--outcome", choices=Outcome.values)
        parser.add_argument("--bom", action="store_true", help="start with a UTF-8 BOM so Excel reads UTF-8")
        parser.add_argument(
            "--summary",
            action="store_true",
            help="counts per day, provider, operation and outcome instead of rows",
        )
        add_sync_argument(parser, always=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["since"] and options["until"] and options["since"] > options["until"]:
            raise CommandError("--since is after --until", returncode=2)
        events = audit_filter(
            since=options["since"],
            until=options["until"],
            provider=options["provider"],
            outcome=options["outcome"],
        )
        lines = (summary_csv_lines if options["summary"] else audit_csv_lines)(events, bom=options["bom"])
        if options["output"] == "-":
            for line in lines:
                self.stdout.write(line, ending="")
            return
        # Written beside the target and renamed at the end: a failed export never leaves half a file.
        target = Path(options["output"])
        partial = target.with_name(target.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8", newline="") as out:
                out.writelines(lines)
            partial.replace(target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"cannot write {target}: {exc.strerror}", returncode=2) from None
