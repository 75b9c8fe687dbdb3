"""Retention without loss: old audit rows written out whole seals at a time, as CSV with a signed manifest,
verified where they were written (a directory or S3: services/archive_store.py), and only then removed:
on PostgreSQL whole monthly partitions detached and dropped, the rest (and everything on SQLite) through
the one guarded path (db.audit_archiving).

The archive's CSV has every column of the audit (services/seals.py: `column_names`), so its rows re-compute
the seals they were sealed in: an archive verifies on its own. Text cells are neutralised as in every CSV
(a leading quote before =, +, -, @, tab, CR) and, so that a reader can undo it exactly, before a leading
quote too; an empty cell of a nullable column is NULL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from media_sync.audit_partitions import (
    PartitionsChanged,
    archive_cut,
    audit_archive_refusal,
    audit_rows_remove,
)
from media_sync.db import audit_archiving
from media_sync.models import AuditArchive, AuditEvent, AuditSeal
from media_sync.reports import CHUNK_SIZE, FORMULA_PREFIXES, ExportTally, csv_writer
from media_sync.services.archive_store import ArchivePlace, HashingReader, archive_place, place_sha256
from media_sync.services.manifests import (
    FORMAT,
    manifest_check_signature,
    manifest_parse,
    manifest_sign,
    manifest_text,
    seals_compare,
)
from media_sync.services.seals import (
    archived_through,
    audit_seal,
    canonical_fields,
    canonical_value,
    column_names,
    row_digest,
    seal_compare,
)

CSV_NAME, MANIFEST_NAME = "audit.csv", "manifest.json"
ESCAPED = (*FORMULA_PREFIXES, "'")
TEXT = (models.CharField, models.TextField)


class ArchiveRefused(Exception):
    """This connection may not remove audit rows: nothing was written."""


class ArchiveFailed(Exception):
    """What was written did not verify: nothing was removed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ArchiveReport:
    rows: int
    first_id: int
    last_id: int
    directory: ArchivePlace | None
    notes: tuple[str, ...] = ()  # where it ended sooner, and how the rows were removed

    def lines(self) -> list[str]:
        if self.directory is None:
            return ["nothing to archive: no sealed rows before that day", *self.notes]
        return [
            f"archived rows {self.first_id}-{self.last_id} ({self.rows} rows) to {self.directory}",
            *self.notes,
        ]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(ESCAPED) else value
    return canonical_value(value)


def _uncell(field: models.Field[Any, Any] | None, cell: str) -> Any:
    if cell == "" and field is not None and field.null:
        return None
    if field is None or isinstance(field, TEXT):
        return cell[1:] if cell.startswith("'") else cell
    return field.to_python(cell)


def _seals_before(after: int, start: datetime) -> QuerySet[AuditSeal]:
    """The seals after the last archive whose rows all precede `start` (the first row on or after it ends
    them)."""
    young = AuditEvent.objects.filter(id__gt=after, timestamp__gte=start).order_by("id").values("id")[:1]
    seals = AuditSeal.objects.filter(after_id__gte=after).order_by("last_id")
    if young_id := young.values_list("id", flat=True).first():
        seals = seals.filter(last_id__lt=young_id)
    return seals


def audit_archive(*, before: date, output: str | Path | ArchivePlace) -> ArchiveReport:
    """Archive every whole seal whose rows are all older than `before` (the first row on or after that day
    ends it; on PostgreSQL a month's straggler may end it sooner: audit_partitions.archive_cut) to a new
    place under `output` (a directory, or s3://BUCKET/PREFIX), verify what that place holds, then remove
    those rows."""
    if refusal := audit_archive_refusal():
        raise ArchiveRefused(refusal)
    audit_seal()
    after = archived_through()
    start = datetime.combine(before, datetime.min.time(), tzinfo=timezone.get_current_timezone())

    def last_before(moment: datetime) -> int:
        seal = _seals_before(after, moment).last()
        return seal.last_id if seal else after

    start, notes = archive_cut(after=after, start=start, last_before=last_before)
    if notes:
        before = start.astimezone(UTC).date()
    seals = _seals_before(after, start)
    last_seal = seals.last()
    if last_seal is None:
        return ArchiveReport(0, 0, 0, None, tuple(notes))
    last = last_seal.last_id
    directory = archive_place(output).child(f"audit-{after + 1}-{last}")
    directory.claim()
    tally = _write_csv(directory, after=after, last=last)
    body = {
        "format": FORMAT,
        "kind": "archive",
        "created_at": timezone.now().isoformat(timespec="seconds"),
        "before": before.isoformat(),
        "file": CSV_NAME,
        "sha256": tally.hasher.hexdigest(),
        "bytes": tally.size,
        "rows": tally.rows,
        "first_id": tally.first_id,
        "last_id": tally.last_id,
        "columns": column_names(),
        "seals": [_seal_entry(seal) for seal in seals.iterator()],
    }
    with directory.writer(MANIFEST_NAME) as out:
        out.write(manifest_text(manifest_sign(body)).encode())
    problems = archive_verify(directory, signed=False)
    if problems:
        raise ArchiveFailed(problems)
    manifest_sha256 = place_sha256(directory, MANIFEST_NAME)
    with audit_archiving():
        AuditArchive.objects.create(
            after_id=after,
            last_id=last,
            row_count=tally.rows,
            before=before,
            location=str(directory),
            manifest_sha256=manifest_sha256,
        )
        try:
            notes += audit_rows_remove(after=after, last=last, start=start)
        except PartitionsChanged as changed:
            raise ArchiveFailed([str(changed)]) from None
    return ArchiveReport(tally.rows, after + 1, last, directory, tuple(notes))


def audit_archive_due() -> list[str]:
    """The daily schedule: archive what is older than MEDIA_SYNC_AUDIT_ARCHIVE_AFTER_DAYS (0: off)."""
    days = settings.MEDIA_SYNC_AUDIT_ARCHIVE_AFTER_DAYS
    if not days:
        return ["audit archiving is off (MEDIA_SYNC_AUDIT_ARCHIVE_AFTER_DAYS=0)"]
    before = timezone.localdate() - timedelta(days=days)
    return audit_archive(before=before, output=settings.MEDIA_SYNC_AUDIT_ARCHIVE_DIR).lines()


def _seal_entry(seal: AuditSeal) -> dict[str, Any]:
    names = ("after_id", "last_id", "row_count", "ids", "digests", "previous", "hash")
    return {name: getattr(seal, name) for name in names}


def _write_csv(directory: ArchivePlace, *, after: int, last: int) -> ExportTally:
    names = column_names()
    writer = csv_writer()
    tally = ExportTally()
    rows = AuditEvent.objects.filter(id__gt=after, id__lte=last).order_by("id").values_list(*names)

    def lines() -> Iterator[str]:
        yield writer.writerow(names)
        for values in rows.iterator(chunk_size=CHUNK_SIZE):
            tally.see(values[0])
            yield writer.writerow([_cell(value) for value in values])

    with directory.writer(CSV_NAME) as out:
        for piece in tally.hashed(lines()):
            out.write(piece.encode())
    return tally


def archive_verify(
    directory: str | Path | ArchivePlace, *, signed: bool = True, keys: list[Ed25519PublicKey] | None = None
) -> list[str]:
    """Every problem with an archive, read back from where it is: its signature (checked against `keys`
    or the configured public keys; not at all when `signed` is False and there is none: the writer
    checking its own work without a key), its file's SHA-256, each row against the seal it was sealed in,
    and the seals against the database's."""
    place = archive_place(directory)
    try:
        with place.reader(MANIFEST_NAME) as stream:
            manifest, problems = manifest_parse(stream.read().decode("utf-8"))
    except (OSError, ValueError) as error:
        return [f"manifest: cannot be read ({error})"]
    if manifest is None:
        return problems
    if signed or manifest.get("signature"):
        problems += manifest_check_signature(manifest, keys)
    name = str(manifest.get("file", CSV_NAME))
    if Path(name).name != name or name in {"", ".", ".."}:
        # Only a file of the archive's own place is read, whatever a changed manifest names.
        return [*problems, f"manifest: names a file outside the archive ({name!r})"]
    try:
        problems += _file_check(place, name, manifest)
    except OSError as error:
        problems.append(f"{name}: cannot be read ({error})")
    return problems + seals_compare(manifest.get("seals") or [])


def _file_check(place: ArchivePlace, name: str, manifest: dict[str, Any]) -> list[str]:
    """One pass over the archive's CSV: its rows against their seals while its bytes are hashed."""
    with place.reader(name) as stream:
        hashed = HashingReader(stream)
        text = io.TextIOWrapper(io.BufferedReader(hashed), encoding="utf-8", newline="")
        try:
            problems = _rows_against_seals(text, name, manifest)
        except (ValueError, csv.Error, ValidationError) as error:
            problems = [f"{name}: not an archive's CSV from some row on ({type(error).__name__})"]
        hashed.drain()
    if (hashed.hexdigest(), hashed.size) != (manifest.get("sha256"), manifest.get("bytes")):
        problems.insert(0, f"{name}: its SHA-256 is not the manifest's (the file was changed)")
    return problems


def _rows_against_seals(stream: IO[str], name: str, manifest: dict[str, Any]) -> list[str]:
    seals = [AuditSeal(**entry) for entry in manifest.get("seals") or []]
    if not seals:
        return ["manifest: names no seals"]
    fields = {f.attname: f for f in canonical_fields()}
    problems: list[str] = []
    reader = csv.reader(stream)
    names = next(reader, [])
    if names != manifest.get("columns"):
        return [f"{name}: its columns are not the manifest's"]
    decoded = ([_uncell(fields.get(n), c) for n, c in zip(names, cells, strict=True)] for cells in reader)
    digests = ((int(values[0]), row_digest(names, values)) for values in decoded)
    pending: list[tuple[int, bytes]] = []
    previous = seals[0].previous
    for seal in seals:
        problems += seal_compare(seal, previous, _up_to(seal.last_id, digests, pending), where="archive")[0]
        previous = seal.hash
    stray = [row_id for row_id, _ in [*pending, *digests]]
    return problems + [f"row {row_id}: in the archive, in none of its seals" for row_id in stray[:100]]


def _up_to(
    last_id: int, rows: Iterator[tuple[int, bytes]], pending: list[tuple[int, bytes]]
) -> Iterator[tuple[int, bytes]]:
    """The rows up to `last_id`; the first one past it is kept in `pending` for the next seal."""
    while pending and pending[0][0] <= last_id:
        yield pending.pop(0)
    if pending:
        return
    for row in rows:
        if row[0] > last_id:
            pending.append(row)
            return
        yield row
