"""The audit's seals (a hash chain over its rows, in id order) and the record of each archive.

Both are append-only like the audit itself (migration 0031_audit_seals); services/seals.py writes them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class AuditSeal(models.Model):
    """The rows with after_id < id <= last_id, as they were when sealed: `ids` lists them (ranges such as
    "5-900,902"), `digests` holds the first 16 hex characters of each row's SHA-256 in the same order (to
    name a changed row), and `hash` = SHA-256(previous seal's hash || each row's full SHA-256)."""

    after_id = models.BigIntegerField(unique=True)  # unique: two sealers at once cannot fork the chain
    last_id = models.BigIntegerField(unique=True)
    row_count = models.PositiveIntegerField()
    ids = models.TextField()
    digests = models.TextField()
    previous = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["last_id"]

    def __str__(self) -> str:
        return f"seal {self.pk} ({self.after_id + 1}-{self.last_id}) {self.hash[:12]}"


class AuditArchive(models.Model):
    """Rows after_id < id <= last_id were written to `location`, verified there, then removed. Its
    presence is what lets the database's guard delete exactly those rows (db.py: AUDIT_TRIGGERS)."""

    after_id = models.BigIntegerField()
    last_id = models.BigIntegerField(unique=True)
    row_count = models.PositiveIntegerField()
    before = models.DateField()
    location = models.CharField(max_length=500)
    manifest_sha256 = models.CharField(max_length=64)
    archived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["last_id"]

    def __str__(self) -> str:
        return f"archive of {self.after_id + 1}-{self.last_id} at {self.location}"
