"""Checking a manifest needs only a public key: MEDIA_SYNC_AUDIT_VERIFY_KEY (several while keys rotate) or
verify_audit --public-key FILE, without the private key anywhere. The public key a manifest carries is
never trusted by itself: a manifest re-signed by another key fails."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.utils import timezone

from media_sync.models import AuditEvent
from media_sync.services.audit_archive import archive_verify, audit_archive
from media_sync.services.audit_keys import public_key_text, public_keys_parse, verify_keys
from media_sync.services.seals import audit_seal
from tests.media_sync.factories import run_command
from tests.media_sync.tampering import old_row
from tests.media_sync.tampering import signing_key_set as _signing  # noqa: F401  (the `signing` fixture)

pytestmark = pytest.mark.django_db


def pem(key: Ed25519PublicKey) -> str:
    """As `openssl pkey -in audit-signing.pem -pubout` writes it."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def other_key() -> Ed25519PublicKey:
    return Ed25519PrivateKey.generate().public_key()


@pytest.fixture
def exported(tmp_path: Path, signing: Ed25519PrivateKey, settings: Any) -> tuple[Path, Path]:
    """An export and its manifest signed by `signing`; then the private key is gone from the settings, as
    on an auditor's machine."""
    for n in range(3):
        old_row(item=f"p{n}")
    csv_path, manifest_path = tmp_path / "audit.csv", tmp_path / "audit.manifest.json"
    code, out = run_command("export_audit", "--output", str(csv_path), "--manifest", str(manifest_path))
    assert code == 0, out
    settings.MEDIA_SYNC_AUDIT_SIGNING_KEY = ""
    return csv_path, manifest_path


def verify(exported: tuple[Path, Path], *extra: str) -> tuple[int, str]:
    csv_path, manifest_path = exported
    return run_command("verify_audit", "--export", str(csv_path), "--manifest", str(manifest_path), *extra)


def test_a_configured_public_key_alone_verifies(
    exported: tuple[Path, Path], signing: Ed25519PrivateKey, settings: Any
) -> None:
    assert verify(exported)[0] == 1  # no key at all here: not passed
    settings.MEDIA_SYNC_AUDIT_VERIFY_KEY = public_key_text(signing.public_key())
    assert verify(exported) == (0, "export audit.csv: intact\n")
    settings.MEDIA_SYNC_AUDIT_VERIFY_KEY = pem(signing.public_key())
    assert verify(exported)[0] == 0


def test_several_keys_while_they_rotate(
    exported: tuple[Path, Path], signing: Ed25519PrivateKey, settings: Any
) -> None:
    settings.MEDIA_SYNC_AUDIT_VERIFY_KEY = (
        f"{public_key_text(other_key())}, {pem(signing.public_key())},{pem(other_key())}"
    )
    assert len(verify_keys()) == 3
    assert verify(exported)[0] == 0


def test_another_public_key_fails(exported: tuple[Path, Path], settings: Any) -> None:
    settings.MEDIA_SYNC_AUDIT_VERIFY_KEY = public_key_text(other_key())
    code, out = verify(exported)
    assert code == 1 and "manifest: signed with another key than the configured one" in out


def test_a_public_key_file_alone_verifies(
    exported: tuple[Path, Path], signing: Ed25519PrivateKey, settings: Any, tmp_path: Path
) -> None:
    right, wrong = tmp_path / "right.pem", tmp_path / "wrong.pem"
    right.write_text(pem(signing.public_key()))
    wrong.write_text(pem(other_key()))
    assert verify(exported, "--public-key", str(right)) == (0, "export audit.csv: intact\n")
    # The file is the one key asked for: a configured one does not stand in for it.
    settings.MEDIA_SYNC_AUDIT_VERIFY_KEY = public_key_text(signing.public_key())
    code, out = verify(exported, "--public-key", str(wrong))
    assert code == 1 and "signed with another key" in out


def test_a_manifest_re_signed_by_another_key_fails(
    exported: tuple[Path, Path], signing: Ed25519PrivateKey, settings: Any
) -> None:
    """Someone changes the manifest (to match an edited file, say) and signs it again with their own key,
    which they put in the manifest: that key is compared, never trusted."""
    settings.MEDIA_SYNC_AUDIT_VERIFY_KEY = public_key_text(signing.public_key())
    _, manifest_path = exported
    manifest = json.loads(manifest_path.read_text())
    forger = Ed25519PrivateKey.generate()
    manifest["rows"] = 2
    body = {name: value for name, value in manifest.items() if name != "signature"}
    payload = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    value = base64.b64encode(forger.sign(payload)).decode()
    for carried, problem in [
        (public_key_text(forger.public_key()), "signed with another key than the configured one"),
        # ... or naming our key while signed with theirs
        (public_key_text(signing.public_key()), "its signature does not match its contents"),
    ]:
        manifest["signature"] = {"algorithm": "Ed25519", "public_key": carried, "value": value}
        manifest_path.write_text(json.dumps(manifest))
        code, out = verify(exported)
        assert code == 1 and problem in out, out


@pytest.mark.db_owner  # archiving deletes audit rows, which only the owner may (README, "Database roles")
def test_an_archive_verifies_with_only_the_public_key(
    tmp_path: Path, signing: Ed25519PrivateKey, settings: Any
) -> None:
    old_row(minutes=10 * 24 * 60)
    audit_seal()
    report = audit_archive(before=timezone.localdate() - timedelta(days=5), output=tmp_path / "archive")
    assert report.directory is not None and AuditEvent.objects.count() == 0
    settings.MEDIA_SYNC_AUDIT_SIGNING_KEY = ""
    assert any("no public key is configured" in problem for problem in archive_verify(report.directory))
    assert archive_verify(report.directory, keys=[signing.public_key()]) == []
    assert archive_verify(report.directory, keys=[other_key()]) == [
        "manifest: signed with another key than the configured one"
    ]
    key_file = tmp_path / "verify.pem"
    key_file.write_text(pem(signing.public_key()))
    code, out = run_command("verify_audit", "--archive", str(report.directory), "--public-key", str(key_file))
    assert code == 0, out


def test_a_bad_public_key_is_refused_without_showing_it(settings: Any, tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    for text in ["bm90IGEga2V5", private_pem, f"{public_key_text(other_key())},bm90IGEga2V5"]:
        with pytest.raises(ImproperlyConfigured) as raised:
            public_keys_parse(text, source="MEDIA_SYNC_AUDIT_VERIFY_KEY")
        assert "not an Ed25519 public key" in str(raised.value)
        assert "bm90IGEga2V5" not in str(raised.value) and "PRIVATE" not in str(raised.value)
    key_file = tmp_path / "private.pem"
    key_file.write_text(private_pem)
    with pytest.raises(CommandError, match="key 1 is not an Ed25519 public key") as refused:
        run_command("verify_audit", "--archive", str(tmp_path), "--public-key", str(key_file))
    assert refused.value.returncode == 2 and private_pem.splitlines()[1] not in str(refused.value)
