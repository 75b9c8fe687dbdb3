"""The audit CSV: columns of the contract, numbers as numbers, formula cells neutralised."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from media_sync import reports
from media_sync.models import AuditEvent, AuditKind, Outcome
from media_sync.reports import COLUMNS, audit_csv_lines, neutralise

pytestmark = pytest.mark.django_db

CONTRACT = (
    "timestamp,provider,operation,job_id,subject,item,destination,outcome,provider_status,http_status,"
    "error_code,message,reference,attempt,duration_ms,triggered_by"
)


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


def test_plain_text_and_numbers_are_kept() -> None:
    assert (neutralise("ok"), neutralise(200), neutralise(None)) == ("ok", 200, None)


def _event(**fields: object) -> AuditEvent:
    defaults: dict[str, object] = {
        "kind": AuditKind.ITEM,
        "provider": "recoveryconnect",
        "operation": "rc_transfer_photos",
        "outcome": Outcome.SUCCEEDED,
    }
    return AuditEvent.objects.create(**{**defaults, **fields})


def test_export_audit_writes_the_contract_columns(tmp_path: Path) -> None:
    _event(
        item="180461379",
        destination="9100002",
        provider_status="success",
        http_status=200,
        attempt=2,
        duration_ms=35,
        message='=HYPERLINK("http://evil")',
        triggered_by="ann",
    )
    out = tmp_path / "audit.csv"
    call_command("export_audit", "--output", str(out))
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == CONTRACT == ",".join(COLUMNS)
    row = next(csv.DictReader(io.StringIO(text)))
    assert datetime.fromisoformat(row["timestamp"]).utcoffset() is not None
    assert (row["http_status"], row["attempt"], row["duration_ms"]) == ("200", "2", "35")
    assert row["message"].startswith("'=")
    assert ",200," in text.splitlines()[1]  # unquoted: a spreadsheet reads it as a number


def test_export_audit_filters_by_provider_outcome_and_dates(tmp_path: Path) -> None:
    _event(outcome=Outcome.FAILED, item="a")
    _event(outcome=Outcome.SUCCEEDED, item="b")
    _event(outcome=Outcome.FAILED, item="c", provider="corrigopro")
    out = io.StringIO()
    call_command(
        "export_audit",
        "--output",
        "-",
        "--provider",
        "recoveryconnect",
        "--outcome",
        "failed",
        "--since",
        "2000-01-01",
        "--until",
        "2999-12-31",
        stdout=out,
    )
    assert [row["item"] for row in csv.DictReader(io.StringIO(out.getvalue()))] == ["a"]
    out = io.StringIO()
    call_command("export_audit", "--output", "-", "--until", "2000-01-01", stdout=out)
    assert out.getvalue().strip() == CONTRACT


def test_export_audit_with_bom_for_excel(tmp_path: Path) -> None:
    out = tmp_path / "audit.csv"
    call_command("export_audit", "--output", str(out), "--bom")
    assert out.read_bytes().startswith(b"\xef\xbb\xbf" + CONTRACT.encode())


def test_export_audit_refuses_a_bad_date_or_unwritable_path(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is not a date"):
        call_command("export_audit", "--output", "-", "--since", "yesterday")
    with pytest.raises(CommandError, match="cannot write"):
        call_command("export_audit", "--output", str(tmp_path / "missing-dir" / "a.csv"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's COPY writes the CSV there")
def test_copy_and_python_write_the_same_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    _event(
        item="=cmd|' /C calc'!A0",
        destination="a,b",
        message='say "hi"\nnext line ünïcode',
        http_status=200,
        duration_ms=None,
        triggered_by="-olga",
        reference="@ref",
        subject="\tindented",
    )
    _event(timestamp=datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC), provider_status="+1")
    by_copy = "".join(audit_csv_lines(AuditEvent.objects.all()))
    monkeypatch.setattr(reports, "connection", SimpleNamespace(vendor="python"))
    by_python = "".join(audit_csv_lines(AuditEvent.objects.all()))
    assert by_copy == by_python
    early, late = csv.DictReader(io.StringIO(by_copy))  # oldest first
    assert early["timestamp"] == "2026-11-23T10:00:00.000000+00:00" and early["provider_status"] == "'+1"
    assert late["item"].startswith("'=") and late["triggered_by"] == "'-olga" and late["duration_ms"] == ""
