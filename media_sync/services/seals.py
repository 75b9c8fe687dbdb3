"""Seals: the audit's rows, in id order, chained by SHA-256 (the model: Certificate Transparency's signed
tree heads, RFC 6962). Sealing runs on a schedule and before each verification; no insert waits for it.

A row's canonical form (`canonical`) is a JSON object of every concrete column of `AuditEvent` but those
that are NULL, keys sorted, times in UTC with microseconds, no spaces; its digest is the SHA-256 of that in
UTF-8. A column added later (nullable, so NULL in every older row) leaves older rows' forms as they were.
A seal covers the rows after the previous seal's last id up to its own, at most SEAL_ROWS of them, all of
one calendar month (UTC; a row of another month ends it, in id order):
hash = SHA-256(previous seal's hash, as 64 hex characters || each row's 32-byte digest, in id order).

Safe point: ids are handed out at insert but become visible at commit, so id 100 may appear after 101 was
read. A sealer therefore stops at the first row younger than SETTLE (by its timestamp, set when written):
a transaction that wrote an audit row commits well within that (the longest hold one claim or one result).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Field, Max
from django.utils import timezone

from media_sync.models import AuditArchive, AuditEvent, AuditSeal

GENESIS = "0" * 64
SEAL_ROWS = 5000
SETTLE = timedelta(seconds=30)
SHORT = 16  # hex characters of each row's digest kept in the seal, to name a changed row


def canonical_fields() -> list[Field[Any, Any]]:
    """Every concrete column of the audit, the id first, then in the model's order (the archive CSV's
    columns; the canonical form itself sorts its keys)."""
    fields = AuditEvent._meta.concrete_fields
    return [AuditEvent._meta.pk, *(f for f in fields if not f.primary_key)]


def canonical_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
PLAIN = (str, int, bool)


@lru_cache(maxsize=8)
def _layout(names: tuple[str, ...]) -> tuple[tuple[str, ...], itemgetter[Any], tuple[str, ...]]:
    """For these columns: their names sorted, a getter of the values in that order, and the columns whose
    values may need `canonical_value` (the model's dates and times, and any column it does not have)."""
    fields = {f.attname: f for f in canonical_fields()}
    ordered = sorted(range(len(names)), key=lambda index: names[index])
    sorted_names = tuple(names[index] for index in ordered)
    converted = tuple(
        name
        for name in sorted_names
        if name not in fields or isinstance(fields[name], (models.DateField, models.DateTimeField))
    )
    return sorted_names, itemgetter(*ordered), converted


def canonical(names: Sequence[str], values: Sequence[Any]) -> bytes:
    """The one canonical form of a row, from its column names and values (as `values_list` reads them)."""
    sorted_names, getter, converted = _layout(tuple(names))
    sorted_values = getter(values) if len(names) > 1 else (getter(values),)
    row = {name: value for name, value in zip(sorted_names, sorted_values, strict=True) if value is not None}
    for name in converted:
        value = row.get(name)
        if value is not None and not isinstance(value, PLAIN):
            row[name] = canonical_value(value)
    return _ENCODER.encode(row).encode()


def row_digest(names: Sequence[str], values: Sequence[Any]) -> bytes:
    return hashlib.sha256(canonical(names, values)).digest()


def column_names() -> list[str]:
    return [f.attname for f in canonical_fields()]


def ids_text(ids: Sequence[int]) -> str:
    """Ids as ranges: "5-900,902"."""
    parts: list[str] = []
    start = previous = ids[0]
    for current in [*ids[1:], None]:
        if current is not None and current == previous + 1:
            previous = current
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if current is not None:
            start = previous = current
    return ",".join(parts)


def ids_parse(text: str) -> list[int]:
    ids: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        ids.extend(range(int(first), int(last or first) + 1))
    return ids


def chain_hash(previous: str, digests: Sequence[bytes]) -> str:
    hasher = hashlib.sha256(previous.encode())
    for digest in digests:
        hasher.update(digest)
    return hasher.hexdigest()


def audit_seal(*, settle: timedelta = SETTLE) -> int:
    """Seal every row up to the safe point; returns how many rows were sealed. Two sealers at once
    cannot fork the chain (each seal's start is unique): the later one stops."""
    names = column_names()
    at = names.index("timestamp")
    horizon = timezone.now() - settle
    sealed = 0
    month = (0, 0)
    while True:
        last = AuditSeal.objects.order_by("-last_id").first()
        after, previous = (last.last_id, last.hash) if last else (archived_through(), GENESIS)
        ids: list[int] = []
        digests: list[bytes] = []
        month_ended = False
        rows = AuditEvent.objects.filter(id__gt=after).order_by("id").values_list(*names)[:SEAL_ROWS]
        for values in rows:
            if values[at] > horizon:
                break
            # A seal never spans two months (UTC): on PostgreSQL each month is a partition, which an
            # archive removes whole (services/audit_archive.py), so a seal must end where one does.
            if ids and utc_month(values[at]) != month:
                month_ended = True
                break
            month = utc_month(values[at])
            ids.append(values[0])
            digests.append(row_digest(names, values))
        if not ids:
            return sealed
        try:
            with transaction.atomic():
                AuditSeal.objects.create(
                    after_id=after,
                    last_id=ids[-1],
                    row_count=len(ids),
                    ids=ids_text(ids),
                    digests="".join(d.hex()[:SHORT] for d in digests),
                    previous=previous,
                    hash=chain_hash(previous, digests),
                )
        except IntegrityError:
            return sealed  # another sealer got there first
        sealed += len(ids)
        if len(ids) < SEAL_ROWS and not month_ended:
            return sealed


def utc_month(moment: datetime) -> tuple[int, int]:
    utc = moment.astimezone(UTC)
    return utc.year, utc.month


def archived_through() -> int:
    return AuditArchive.objects.aggregate(last=Max("last_id"))["last"] or 0


@dataclass
class Verification:
    seals: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def seal_compare(
    seal: AuditSeal, previous: str, rows: Iterator[tuple[int, bytes]], *, where: str = "table"
) -> tuple[list[str], int]:
    """The seal against the rows now there (id, digest, in id order): every problem named, and the rows
    read. `previous` is the hash the chain arrived with."""
    problems: list[str] = []
    if seal.previous != previous:
        problems.append(f"seal {seal.after_id + 1}-{seal.last_id}: does not follow the seal before it")
    shorts = [seal.digests[i : i + SHORT] for i in range(0, len(seal.digests), SHORT)]
    sealed = dict(zip(ids_parse(seal.ids), shorts, strict=True))
    seen: set[int] = set()
    digests: list[bytes] = []
    count = 0
    for row_id, digest in rows:
        count += 1
        digests.append(digest)
        short = sealed.get(row_id)
        if short is None:
            problems.append(
                f"row {row_id}: inserted out of order (after seal {seal.after_id + 1}-{seal.last_id})"
            )
        elif digest.hex()[:SHORT] != short:
            problems.append(f"row {row_id}: edited since it was sealed")
        seen.add(row_id)
    problems += [f"row {row_id}: deleted from the {where}" for row_id in sealed if row_id not in seen]
    if not problems and chain_hash(seal.previous, digests) != seal.hash:
        problems.append(f"seal {seal.after_id + 1}-{seal.last_id}: its hash does not match its rows")
    return problems, count


def audit_verify(*, since: date | None = None) -> Verification:
    """Seal what is due, then re-compute the chain seal by seal (one keyset-paged read of at most
    SEAL_ROWS rows each). Seals of archived rows are followed by their stored hash."""
    audit_seal()
    names = column_names()
    result = Verification()
    archived = archived_through()
    seals = AuditSeal.objects.order_by("last_id")
    previous = GENESIS
    if since is not None:
        start = datetime.combine(since, datetime.min.time(), tzinfo=timezone.get_current_timezone())
        before = seals.filter(sealed_at__lt=start).last()
        previous = before.hash if before else GENESIS
        seals = seals.filter(sealed_at__gte=start)
    elif (first := seals.first()) is not None and first.after_id > 0:
        previous = first.previous  # the chain began after rows archived before seals existed
    for seal in seals.iterator(chunk_size=100):
        result.seals += 1
        if seal.last_id <= archived:
            if seal.previous != previous:
                result.problems.append(
                    f"seal {seal.after_id + 1}-{seal.last_id}: does not follow the seal before it"
                )
            previous = seal.hash
            continue
        values = AuditEvent.objects.filter(id__gt=seal.after_id, id__lte=seal.last_id).order_by("id")
        read = values.values_list(*names).iterator(chunk_size=SEAL_ROWS)
        rows = ((v[0], row_digest(names, v)) for v in read)
        problems, count = seal_compare(seal, previous, rows)
        result.problems += problems
        result.rows += count
        previous = seal.hash
    stray = AuditEvent.objects.filter(id__lte=archived).values_list("id", flat=True)
    result.problems += [f"row {row_id}: inserted out of order (into archived rows)" for row_id in stray[:100]]
    return result
