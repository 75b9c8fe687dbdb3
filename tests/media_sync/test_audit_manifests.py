"""Signed manifests of audit exports (export_audit --manifest, the admin's zip) and verify_audit --export."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from media_sync.models import AuditEvent, AuditSeal
from media_sync.services.audit_keys import signing_key
from media_sync.services.manifests import export_verify
from tests.media_sync.factories import run_command
from tests.media_sync.tampering import key_text, old_row, seal_rewritten
from tests.media_sync.tampering import signing_key_set as _signing  # noqa: F401  (the `signing` fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows() -> list[AuditEvent]:
    return [
        old_row(item=f"p{n}", message="=HYPERLINK()" if n == 1 else "line\nbreak", minutes=9 - n)
        for n in range(4)
    ]


def export(tmp_path: Path) -> tuple[Path, Path]:
    csv_path, manifest_path = tmp_path / "audit.csv", tmp_path / "audit.manifest.json"
    code, out = run_command("export_audit", "--output", str(csv_path), "--manifest", str(manifest_path))
    assert code == 0, out
    return csv_path, manifest_path


def verify(csv_path: Path, manifest_path: Path) -> tuple[int, str]:
    return run_command("verify_audit", "--export", str(csv_path), "--manifest", str(manifest_path))


def test_an_export_comes_with_a_signed_manifest_that_verifies(
    tmp_path: Path, signing: Ed25519PrivateKey, rows: list[AuditEvent]
) -> None:
    csv_path, manifest_path = export(tmp_path)
    manifest = json.loads(manifest_path.read_text())
    assert (manifest["rows"], manifest["first_id"], manifest["last_id"]) == (4, rows[0].pk, rows[-1].pk)
    assert manifest["bytes"] == csv_path.stat().st_size
    seal = AuditSeal.objects.get()
    assert manifest["seals"] == [{"after_id": 0, "last_id": seal.last_id, "hash": seal.hash}]
    assert manifest["signature"]["algorithm"] == "Ed25519"
    assert verify(csv_path, manifest_path) == (0, f"export {csv_path.name}: intact\n")


def test_a_changed_export_fails_its_check(
    tmp_path: Path, signing: Ed25519PrivateKey, rows: list[AuditEvent]
) -> None:
    csv_path, manifest_path = export(tmp_path)
    csv_path.write_text(csv_path.read_text().replace("failed", "succeeded").replace("p2", "p9"))
    code, out = verify(csv_path, manifest_path)
    assert code == 1 and "its SHA-256 is not the manifest's" in out


def test_a_changed_manifest_fails_its_check(
    tmp_path: Path, signing: Ed25519PrivateKey, rows: list[AuditEvent]
) -> None:
    csv_path, manifest_path = export(tmp_path)
    manifest = json.loads(manifest_path.read_text())
    manifest["rows"] = 3
    manifest_path.write_text(json.dumps(manifest))
    code, out = verify(csv_path, manifest_path)
    assert code == 1 and "its signature does not match its contents" in out


def test_a_manifest_signed_by_another_key_fails(
    tmp_path: Path, signing: Ed25519PrivateKey, rows: list[AuditEvent], settings: Any
) -> None:
    csv_path, manifest_path = export(tmp_path)
    settings.MEDIA_SYNC_AUDIT_SIGNING_KEY = key_text(Ed25519PrivateKey.generate())
    code, out = verify(csv_path, manifest_path)
    assert code == 1 and "signed with another key" in out


def test_without_a_key_the_manifest_says_it_is_unsigned_and_does_not_pass(
    tmp_path: Path, rows: list[AuditEvent], settings: Any
) -> None:
    settings.MEDIA_SYNC_AUDIT_SIGNING_KEY = ""
    csv_path, manifest_path = export(tmp_path)
    manifest = json.loads(manifest_path.read_text())
    assert manifest["signature"] is None and "no MEDIA_SYNC_AUDIT_SIGNING_KEY" in manifest["unsigned"]
    code, out = verify(csv_path, manifest_path)
    assert code == 1 and "manifest: not signed" in out and "SHA-256" not in out


@pytest.mark.db_owner  # plays someone with the owner's rights, or shows the trigger refuses the owner too
def test_a_chain_rewritten_after_the_export_shows_against_its_manifest(
    tmp_path: Path, signing: Ed25519PrivateKey, rows: list[AuditEvent]
) -> None:
    csv_path, manifest_path = export(tmp_path)
    seal_rewritten(rows[-1].pk)
    code, out = verify(csv_path, manifest_path)
    assert code == 1 and "the chain was rewritten" in out


def test_a_bad_key_is_refused_without_showing_it(settings: Any) -> None:
    settings.MEDIA_SYNC_AUDIT_SIGNING_KEY = "bm90IGEga2V5"
    with pytest.raises(ImproperlyConfigured) as raised:
        signing_key()
    assert "bm90IGEga2V5" not in str(raised.value)


def test_a_pem_key_is_read(settings: Any) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings.MEDIA_SYNC_AUDIT_SIGNING_KEY = pem.decode()
    assert signing_key() is not None


def test_the_admin_export_comes_as_a_zip_with_its_manifest(
    lead: Client, signing: Ed25519PrivateKey, rows: list[AuditEvent], tmp_path: Path
) -> None:
    response = lead.get(
        reverse("admin:media_sync_auditevent_export"), {"manifest": "1", "provider__exact": "recoveryconnect"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    assert names[0].endswith(".csv") and names[1] == f"{names[0]}.manifest.json"
    csv_path = tmp_path / names[0]
    assert "'=HYPERLINK()" in csv_path.read_text()  # the same neutralised CSV as the plain export
    manifest = json.loads((tmp_path / names[1]).read_text())
    assert (manifest["rows"], manifest["filters"]) == (4, {"provider__exact": "recoveryconnect"})
    assert export_verify(export=csv_path, manifest_path=tmp_path / names[1]) == []


def test_the_export_is_the_same_file_with_or_without_its_manifest(
    tmp_path: Path, signing: Ed25519PrivateKey, rows: list[AuditEvent]
) -> None:
    """On PostgreSQL the manifest's ids ride along COPY's rows and are cut off: the file must not show it."""
    plain = tmp_path / "plain.csv"
    assert run_command("export_audit", "--output", str(plain))[0] == 0
    signed, _ = export(tmp_path)
    assert signed.read_bytes() == plain.read_bytes()
