"""archive_audit: old rows out to CSV with a signed manifest, verified, removed; the chain still verifies,
and the archive verifies on its own."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from media_sync.db import audit_archiving
from media_sync.models import AuditArchive, AuditEvent, AuditSeal
from media_sync.schedules import SCHEDULES
from media_sync.services import audit_archive as archiving
from media_sync.services.audit_archive import ArchiveFailed, archive_verify, audit_archive, audit_archive_due
from media_sync.services.seals import audit_seal, audit_verify
from tests.media_sync.factories import run_command
from tests.media_sync.tampering import old_row
from tests.media_sync.tampering import signing_key_set as _signing  # noqa: F401  (the `signing` fixture)

# Archiving deletes audit rows, which only the owner may (README, "Database roles"): it runs as the owner.
pytestmark = [pytest.mark.django_db, pytest.mark.db_owner]
DAY = 24 * 60
HOSTILE = ["=cmd|' /C calc'!A0", "'quoted", "-5", "", "plain, with comma\nand newline", "@sum", "''twice"]


@pytest.fixture
def history() -> tuple[list[AuditEvent], list[AuditEvent]]:
    """Rows of ten days ago (one seal), then of yesterday (another)."""
    old = [old_row(minutes=10 * DAY, item=f"old{n}", message=text) for n, text in enumerate(HOSTILE)]
    old.append(old_row(minutes=10 * DAY, http_status=None, duration_ms=7, reference="r-1"))
    audit_seal()
    recent = [old_row(minutes=DAY, item=f"new{n}") for n in range(3)]
    audit_seal()
    return old, recent


def five_days_ago() -> str:
    return (timezone.localdate() - timedelta(days=5)).isoformat()


def archive_dir(tmp_path: Path) -> Path:
    return next(tmp_path.glob("audit-*"))


def test_archive_writes_verifies_and_removes_the_old_seal_only(
    tmp_path: Path, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    old, recent = history
    code, out = run_command("archive_audit", "--before", five_days_ago(), "--output", str(tmp_path))
    assert code == 0, out
    assert f"archived rows 1-{old[-1].pk} ({len(old)} rows)" in out
    assert list(AuditEvent.objects.values_list("pk", flat=True).order_by("pk")) == [r.pk for r in recent]
    assert AuditSeal.objects.count() == 2  # seals stay: the chain goes on from them
    assert AuditArchive.objects.get().last_id == old[-1].pk
    assert run_command("verify_audit")[0] == 0
    code, out = run_command("verify_audit", "--archive", str(archive_dir(tmp_path)))
    assert code == 0, out


def test_the_chain_goes_on_after_an_archive(
    tmp_path: Path, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    audit_archive(before=timezone.localdate() - timedelta(days=5), output=tmp_path)
    old_row(item="after")
    audit_seal()
    result = audit_verify()
    assert result.ok and result.seals == 3 and result.rows == 4


def test_archived_cells_come_back_exactly(
    tmp_path: Path, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    """Formula starters neutralised, a leading quote escaped, NULL and empty told apart: the rows still
    hash to their seals (the archive verified before removing), and the CSV holds no live formula."""
    audit_archive(before=timezone.localdate() - timedelta(days=5), output=tmp_path)
    text = (archive_dir(tmp_path) / "audit.csv").read_text()
    assert "'=cmd" in text and "'@sum" in text and "'-5" in text and "'''twice" in text
    assert archive_verify(archive_dir(tmp_path)) == []


def test_an_edited_archive_names_the_row(
    tmp_path: Path, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    old, _ = history
    audit_archive(before=timezone.localdate() - timedelta(days=5), output=tmp_path)
    csv_path = archive_dir(tmp_path) / "audit.csv"
    csv_path.write_text(csv_path.read_text().replace("r-1", "r-2"))
    code, out = run_command("verify_audit", "--archive", str(archive_dir(tmp_path)))
    assert code == 1
    assert (
        "its SHA-256 is not the manifest's" in out and f"row {old[-1].pk}: edited since it was sealed" in out
    )


def test_a_row_removed_from_the_archive_is_named(
    tmp_path: Path, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    old, _ = history
    audit_archive(before=timezone.localdate() - timedelta(days=5), output=tmp_path)
    csv_path = archive_dir(tmp_path) / "audit.csv"
    lines = csv_path.read_text().splitlines(keepends=True)
    csv_path.write_text("".join(line for line in lines if not line.startswith(f"{old[-1].pk},")))
    problems = archive_verify(archive_dir(tmp_path))
    assert f"row {old[-1].pk}: deleted from the archive" in problems


def test_a_changed_archive_manifest_fails(
    tmp_path: Path, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    audit_archive(before=timezone.localdate() - timedelta(days=5), output=tmp_path)
    path = archive_dir(tmp_path) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["before"] = "2000-01-01"
    path.write_text(json.dumps(manifest))
    assert any("signature does not match" in p for p in archive_verify(archive_dir(tmp_path)))


def test_an_archive_that_does_not_verify_removes_nothing(
    tmp_path: Path, history: tuple[list[AuditEvent], list[AuditEvent]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archiving, "archive_verify", lambda directory, signed: ["row 1: edited"])
    count = AuditEvent.objects.count()
    with pytest.raises(ArchiveFailed):
        audit_archive(before=timezone.localdate() - timedelta(days=5), output=tmp_path)
    assert AuditEvent.objects.count() == count and not AuditArchive.objects.exists()


def test_nothing_old_enough_archives_nothing(tmp_path: Path, history: Any) -> None:
    report = audit_archive(before=timezone.localdate() - timedelta(days=30), output=tmp_path)
    assert report.directory is None and not list(tmp_path.iterdir())


def test_the_guard_deletes_only_archived_rows(
    tmp_path: Path, signing: Any, history: tuple[list[AuditEvent], list[AuditEvent]]
) -> None:
    old, recent = history
    audit_archive(before=timezone.localdate() - timedelta(days=5), output=tmp_path)
    with pytest.raises(IntegrityError, match="append-only"), audit_archiving():
        AuditEvent.objects.filter(pk=recent[0].pk).delete()
    late = old_row(id=old[0].pk, item="late")  # an id inside the archived range, written afterwards
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=late.pk).delete()
    assert f"row {late.pk}: inserted out of order (into archived rows)" in audit_verify().problems


def test_archiving_by_schedule_is_off_by_default(settings: Any, tmp_path: Path, history: Any) -> None:
    assert settings.MEDIA_SYNC_AUDIT_ARCHIVE_AFTER_DAYS == 0
    assert audit_archive_due() == ["audit archiving is off (MEDIA_SYNC_AUDIT_ARCHIVE_AFTER_DAYS=0)"]
    settings.MEDIA_SYNC_AUDIT_ARCHIVE_AFTER_DAYS = 5
    settings.MEDIA_SYNC_AUDIT_ARCHIVE_DIR = str(tmp_path)
    assert audit_archive_due()[0].startswith("archived rows 1-")
    assert SCHEDULES["media-sync: archive old audit rows"]["func"] == "media_sync.tasks.archive_old_audit"
