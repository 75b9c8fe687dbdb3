"""Seals: the audit's rows chained by SHA-256, and verify_audit naming every row changed behind our back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from media_sync.models import AuditEvent, AuditSeal
from media_sync.schedules import SCHEDULES
from media_sync.services import seals
from media_sync.services.seals import audit_seal, audit_verify, canonical, ids_parse, ids_text
from tests.media_sync.factories import run_command
from tests.media_sync.tampering import delete, edit, old_row, triggers_dropped

pytestmark = pytest.mark.django_db


def test_verify_seals_the_rows_and_finds_them_intact() -> None:
    rows = [old_row(item=f"p{n}") for n in range(3)]
    code, out = run_command("verify_audit")
    assert code == 0, out
    assert "1 seals, 3 rows checked: intact" in out
    seal = AuditSeal.objects.get()
    assert (seal.after_id, seal.last_id, seal.row_count) == (0, rows[-1].pk, 3)
    assert ids_parse(seal.ids) == [row.pk for row in rows]


def test_rows_younger_than_the_safe_point_wait_for_the_next_seal() -> None:
    first = old_row()
    young = old_row(minutes=0)
    assert audit_seal() == 1
    assert AuditSeal.objects.get().last_id == first.pk
    assert audit_seal(settle=timedelta(0)) == 1
    assert AuditSeal.objects.order_by("last_id").last().last_id == young.pk  # type: ignore[union-attr]


def test_a_young_row_stops_the_seal_even_when_older_ones_follow_it() -> None:
    """Row 2 young, row 3 old (written with an old time): nothing past row 1 is sealed yet."""
    first = old_row()
    old_row(minutes=0)
    old_row()
    audit_seal()
    assert AuditSeal.objects.get().last_id == first.pk


@pytest.mark.db_owner  # plays someone with the owner's rights, or shows the trigger refuses the owner too
def test_edited_deleted_and_out_of_order_rows_are_each_named() -> None:
    a, b, c = old_row(item="a"), old_row(item="b"), old_row(item="c")
    gap = c.pk + 1
    d = old_row(id=c.pk + 2, item="d")
    assert audit_verify().ok
    with triggers_dropped():
        edit(b.pk, "nothing to see")
        delete(c.pk)
    old_row(id=gap, item="late")  # an id inside a sealed range, written after the seal
    code, out = run_command("verify_audit")
    assert code == 1
    assert f"row {b.pk}: edited since it was sealed" in out
    assert f"row {c.pk}: deleted from the table" in out
    assert f"row {gap}: inserted out of order" in out
    named = [line for line in out.splitlines() if line.startswith("row ")]
    assert len(named) == 3, out
    assert f"row {a.pk}:" not in out and f"row {d.pk}:" not in out


@pytest.mark.db_owner  # plays someone with the owner's rights, or shows the trigger refuses the owner too
def test_a_row_edited_back_to_what_it_was_verifies_again() -> None:
    row = old_row(message="original")
    audit_seal()
    with triggers_dropped():
        edit(row.pk, "changed")
        assert not audit_verify().ok
        edit(row.pk, "original")
    assert audit_verify().ok


def test_seals_of_many_rows_come_in_pieces_and_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seals, "SEAL_ROWS", 3)
    for n in range(7):
        old_row(item=str(n))
    assert audit_seal() == 7
    chain = list(AuditSeal.objects.order_by("last_id"))
    assert [s.row_count for s in chain] == [3, 3, 1]
    assert chain[0].previous == seals.GENESIS
    assert [s.previous for s in chain[1:]] == [s.hash for s in chain[:-1]]
    assert audit_verify().rows == 7


def test_a_second_sealer_cannot_fork_the_chain() -> None:
    old_row()
    audit_seal()
    seal = AuditSeal.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditSeal.objects.create(
            after_id=0, last_id=seal.last_id + 1, row_count=1, ids="1", digests="0" * 16, previous="", hash=""
        )
    assert audit_seal() == 0


@pytest.mark.db_owner  # plays someone with the owner's rights, or shows the trigger refuses the owner too
def test_seals_are_append_only() -> None:
    old_row()
    audit_seal()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditSeal.objects.update(hash="0" * 64)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditSeal.objects.all().delete()


@pytest.mark.db_owner  # plays someone with the owner's rights, or shows the trigger refuses the owner too
def test_since_checks_only_the_seals_made_from_that_day() -> None:
    row = old_row()
    audit_seal()
    with triggers_dropped():
        edit(row.pk, "changed")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert run_command("verify_audit", "--since", tomorrow)[0] == 0
    assert run_command("verify_audit", "--since", timezone.localdate().isoformat())[0] == 1


def test_canonical_form_is_unchanged_by_a_column_added_later_as_null() -> None:
    assert canonical(["id", "message"], [1, "x"]) == canonical(["id", "message", "added"], [1, "x", None])
    assert canonical(["id", "message"], [1, "x"]) == b'{"id":1,"message":"x"}'
    assert canonical(["b", "a"], [1, 2]) == canonical(["a", "b"], [2, 1])


def test_ids_are_kept_as_ranges() -> None:
    assert ids_text([1, 2, 3, 5, 7, 8]) == "1-3,5,7-8"
    assert ids_parse("1-3,5,7-8") == [1, 2, 3, 5, 7, 8]


def test_every_column_is_sealed() -> None:
    names = seals.column_names()
    assert names[0] == "id"
    assert set(names) == {f.attname for f in AuditEvent._meta.concrete_fields}


def test_sealing_runs_every_minute() -> None:
    schedule = SCHEDULES["media-sync: seal the audit"]
    assert (schedule["func"], schedule["minutes"]) == ("media_sync.tasks.seal_audit", 1)


def test_a_seal_never_spans_two_months() -> None:
    """Months in UTC (on PostgreSQL each is a partition an archive removes whole), in id order: a row of
    another month ends the seal, a straggler of the earlier month included."""
    november = datetime(2025, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
    december = datetime(2025, 12, 1, tzinfo=UTC)
    rows = [
        old_row(timestamp=moment) for moment in (november, november, december, december, november, december)
    ]
    assert audit_seal() == 6
    seals = list(AuditSeal.objects.values_list("after_id", "last_id"))
    ids = [row.pk for row in rows]
    assert seals == [(0, ids[1]), (ids[1], ids[3]), (ids[3], ids[4]), (ids[4], ids[5])]
    assert audit_verify().ok
