"""Playing someone who edits the audit behind the app's back: the append-only triggers dropped by hand,
then put back exactly as migration 0031_audit_seals makes them (media_sync/db.py: AUDIT_TRIGGERS)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from media_sync.db import AUDIT_TRIGGERS, AUDIT_TRIGGERS_DROP
from media_sync.models import AuditEvent, AuditKind, Outcome

TABLE = "media_sync_auditevent"


@contextmanager
def triggers_dropped() -> Iterator[None]:
    vendor = connection.vendor
    with connection.cursor() as cursor:
        for sql in AUDIT_TRIGGERS_DROP[vendor]:
            cursor.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for sql in AUDIT_TRIGGERS[vendor]:
                cursor.execute(sql)
        assert_append_only()


def assert_append_only() -> None:
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.update(message="rewritten")


def old_row(*, minutes: int = 5, **fields: Any) -> AuditEvent:
    """An audit row written `minutes` ago: past the sealers' safe point."""
    values: dict[str, Any] = {
        "kind": AuditKind.ITEM,
        "provider": "recoveryconnect",
        "operation": "rc_transfer_photos",
        "outcome": Outcome.SUCCEEDED,
        "timestamp": timezone.now() - timedelta(minutes=minutes),
        **fields,
    }
    return AuditEvent.objects.create(**values)


def edit(row_id: int, message: str) -> None:
    """An UPDATE as someone with the database's password would write it (the triggers dropped)."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET message = %s WHERE id = %s", [message, row_id])  # noqa: S608


def delete(row_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [row_id])  # noqa: S608


def seal_rewritten(last_id: int) -> None:
    """A seal's hash changed in place, its trigger dropped for that (the test's transaction restores it)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER media_sync_auditseal_append_only ON media_sync_auditseal")
        else:
            cursor.execute("DROP TRIGGER media_sync_auditseal_no_update")
        cursor.execute("UPDATE media_sync_auditseal SET hash = %s WHERE last_id = %s", ["f" * 64, last_id])


def key_text(key: Ed25519PrivateKey) -> str:
    """A key as MEDIA_SYNC_AUDIT_SIGNING_KEY takes it: base64 of its 32 bytes."""
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


@pytest.fixture(name="signing")
def signing_key_set(settings: Any) -> Ed25519PrivateKey:
    """A fresh signing key in the settings."""
    key = Ed25519PrivateKey.generate()
    settings.MEDIA_SYNC_AUDIT_SIGNING_KEY = key_text(key)
    return key
