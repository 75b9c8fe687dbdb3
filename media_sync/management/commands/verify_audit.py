"""verify_audit: seal what is due, then re-compute the audit's hash chain (services/seals.py); or check an
export against its manifest, or an archive on its own, in a directory or in S3 (services/manifests.py,
services/audit_archive.py); a signature against public keys only (services/audit_keys.py)."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from media_sync.management.commands.export_audit import iso_date
from media_sync.management.jobcommand import EXIT_FAILED, add_sync_argument
from media_sync.services.archive_store import SCHEME, ArchivePlace, archive_place
from media_sync.services.audit_archive import archive_verify
from media_sync.services.audit_keys import public_keys_parse
from media_sync.services.manifests import export_verify
from media_sync.services.seals import Verification, audit_verify


class Command(BaseCommand):
    help = (
        "Re-check the audit's hash chain and exit 1 naming every row edited, deleted or inserted out of "
        "order; or check an export against its manifest (--export, --manifest), or an archive (--archive), "
        "its signature against --public-key or the configured keys."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--since", type=iso_date, help="check the seals made on or after this day")
        parser.add_argument("--export", type=existing, help="an export's CSV file to check (with --manifest)")
        parser.add_argument("--manifest", type=existing, help="the manifest written with that export")
        parser.add_argument(
            "--archive",
            type=archive,
            help="an archive to check on its own: its directory, or s3://BUCKET/KEY/",
        )
        parser.add_argument(
            "--public-key",
            type=public_keys,
            help="check signatures against the Ed25519 public key(s) in this file (PEM or base64) alone",
        )
        add_sync_argument(parser, always=True)

    def handle(self, *args: Any, **options: Any) -> None:
        keys = options["public_key"]
        if bool(options["export"]) != bool(options["manifest"]):
            raise CommandError("--export and --manifest go together", returncode=2)
        try:
            if options["export"]:
                problems = export_verify(
                    export=options["export"], manifest_path=options["manifest"], keys=keys
                )
                self.report(Verification(problems=problems), f"export {options['export'].name}")
                return
            if options["archive"]:
                problems = archive_verify(options["archive"], keys=keys)
                self.report(Verification(problems=problems), f"archive {options['archive']}")
                return
        except ImproperlyConfigured as error:
            raise CommandError(str(error), returncode=2) from None
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


def archive(value: str) -> ArchivePlace:
    try:
        return archive_place(value if value.startswith(SCHEME) else existing(value))
    except ValueError as error:
        raise CommandError(str(error), returncode=2) from None


def public_keys(value: str) -> list[Ed25519PublicKey]:
    try:
        keys = public_keys_parse(existing(value).read_text(encoding="utf-8"), source=value)
    except (OSError, ValueError, ImproperlyConfigured) as error:
        raise CommandError(str(error), returncode=2) from None
    if not keys:
        raise CommandError(f"{value}: holds no public key", returncode=2)
    return keys
