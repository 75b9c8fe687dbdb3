from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from media_sync.management.jobcommand import add_sync_argument
from media_sync.models import Outcome, Provider
from media_sync.reports import audit_csv_lines, summary_csv_lines
from media_sync.selectors import audit_filter
from media_sync.services.manifests import export_signed, manifest_text


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
        parser.add_argument(
            "--manifest",
            help="also write a signed manifest (rows, ids, seals, the file's SHA-256) to this file",
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
        manifest: Callable[[], dict[str, Any]] | None = None
        if options["manifest"]:
            if options["summary"]:
                raise CommandError("--manifest is for the rows, not --summary", returncode=2)
            filters = {k: str(options[k]) for k in ("since", "until", "provider", "outcome") if options[k]}
            name = Path(options["output"]).name if options["output"] != "-" else "audit.csv"
            lines, manifest = export_signed(events, csv_name=name, bom=options["bom"], filters=filters)
        else:
            lines = (summary_csv_lines if options["summary"] else audit_csv_lines)(events, bom=options["bom"])
        if options["output"] == "-":
            for line in lines:
                self.stdout.write(line, ending="")
        else:
            self.write_file(Path(options["output"]), lines)
        if manifest is not None:
            self.write_file(Path(options["manifest"]), iter([manifest_text(manifest())]))

    def write_file(self, target: Path, lines: Iterator[str]) -> None:
        # Written beside the target and renamed at the end: a failed export never leaves half a file.
        partial = target.with_name(target.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8", newline="") as out:
                out.writelines(lines)
            partial.replace(target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"cannot write {target}: {exc.strerror}", returncode=2) from None
