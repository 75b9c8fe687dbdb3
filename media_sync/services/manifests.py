"""Manifests: what an export or an archive holds (rows, ids, the seals it spans, the file's SHA-256),
signed with the Ed25519 key in MEDIA_SYNC_AUDIT_SIGNING_KEY. Without a key the manifest says it is unsigned.
A signature is checked against public keys only (services/audit_keys.py).

The file's hash is taken from the bytes as they stream out (`ExportTally.hashed`): no second pass over the
table, no file held in memory. The signature covers the manifest's canonical JSON (keys sorted, no spaces)
without its "signature" member.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db.models import QuerySet
from django.utils import timezone

from media_sync.models import AuditEvent, AuditSeal
from media_sync.reports import ExportTally, audit_csv_lines
from media_sync.services.audit_keys import (
    KEY_SETTING,
    VERIFY_SETTING,
    public_key_text,
    signing_key,
    verify_keys,
)
from media_sync.services.seals import audit_seal

FORMAT = "media-sync audit manifest 1"
BLOCK = 1024 * 1024


def _payload(manifest: dict[str, Any]) -> bytes:
    body = {name: value for name, value in manifest.items() if name != "signature"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def manifest_sign(body: dict[str, Any]) -> dict[str, Any]:
    key = signing_key()
    if key is None:
        return {**body, "signature": None, "unsigned": f"no {KEY_SETTING} was configured"}
    value = base64.b64encode(key.sign(_payload(body))).decode()
    public = public_key_text(key.public_key())
    return {**body, "signature": {"algorithm": "Ed25519", "public_key": public, "value": value}}


def seals_spanned(min_id: int | None, max_id: int | None) -> list[dict[str, Any]]:
    if min_id is None or max_id is None:
        return []
    seals = AuditSeal.objects.filter(last_id__gte=min_id, after_id__lt=max_id).order_by("last_id")
    return [
        {"after_id": after, "last_id": last, "hash": digest}
        for after, last, digest in seals.values_list("after_id", "last_id", "hash").iterator()
    ]


def export_manifest(*, tally: ExportTally, file_name: str, filters: dict[str, Any]) -> dict[str, Any]:
    seals = seals_spanned(tally.min_id, tally.max_id)
    sealed_through = seals[-1]["last_id"] if seals else 0
    return manifest_sign(
        {
            "format": FORMAT,
            "kind": "export",
            "created_at": timezone.now().isoformat(timespec="seconds"),
            "file": file_name,
            "sha256": tally.hasher.hexdigest(),
            "bytes": tally.size,
            "rows": tally.rows,
            "first_id": tally.first_id,
            "last_id": tally.last_id,
            "min_id": tally.min_id,
            "max_id": tally.max_id,
            "filters": filters,
            "seals": seals,
            # Rows newer than the last seal (written in the last half minute or so) are in no seal yet.
            "unsealed_after_id": sealed_through if (tally.max_id or 0) > sealed_through else None,
        }
    )


def export_signed(
    events: QuerySet[AuditEvent], *, csv_name: str, bom: bool, filters: dict[str, Any]
) -> tuple[Iterator[str], Callable[[], dict[str, Any]]]:
    """An export that comes with a manifest: what is due is sealed first, then the CSV's pieces stream
    out, and once they have all gone, the second returned function makes the manifest."""
    audit_seal()
    tally = ExportTally()
    pieces = audit_csv_lines(events, bom=bom, tally=tally)
    return pieces, lambda: export_manifest(tally=tally, file_name=csv_name, filters=filters)


def file_sha256(path: Path) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(BLOCK), b""):
            hasher.update(block)
            size += len(block)
    return hasher.hexdigest(), size


def manifest_check_signature(
    manifest: dict[str, Any], keys: list[Ed25519PublicKey] | None = None
) -> list[str]:
    """Problems with the manifest's signature, checked against `keys` (verify_audit --public-key) or the
    configured public keys (audit_keys.verify_keys)."""
    signature = manifest.get("signature")
    if not signature:
        why = manifest.get("unsigned") or "no signature"
        return [f"manifest: not signed ({why}); anyone could have written it"]
    trusted = verify_keys(keys)
    if not trusted:
        return [
            f"manifest: signed, but no public key is configured here to check it with ({VERIFY_SETTING}, "
            f"{KEY_SETTING} or --public-key)"
        ]
    if not isinstance(signature, dict):
        return ["manifest: its signature is not one (the manifest was changed)"]
    # The key the manifest carries only picks one of ours: anyone can re-sign with a key of their own.
    carried = signature.get("public_key")
    key = next((key for key in trusted if public_key_text(key) == carried), None)
    if key is None:
        return ["manifest: signed with another key than the configured one"]
    try:
        key.verify(base64.b64decode(str(signature.get("value", "")), validate=True), _payload(manifest))
    except (InvalidSignature, binascii.Error, ValueError):
        return ["manifest: its signature does not match its contents (the manifest was changed)"]
    return []


def manifest_read(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as error:
        return None, [f"manifest: cannot be read ({error})"]
    return manifest_parse(text)


def manifest_parse(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        manifest = json.loads(text)
    except ValueError as error:
        return None, [f"manifest: cannot be read ({error})"]
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None, [f"manifest: not a {FORMAT!r}"]
    return manifest, []


def export_verify(
    *, export: Path, manifest_path: Path, keys: list[Ed25519PublicKey] | None = None
) -> list[str]:
    """Every problem found with an export and its manifest; none means the file is what was exported and
    its seals are still those of the database. The signature is checked against `keys`, or else the
    configured public keys."""
    manifest, problems = manifest_read(manifest_path)
    if manifest is None:
        return problems
    problems += manifest_check_signature(manifest, keys)
    digest, size = file_sha256(export)
    if (digest, size) != (manifest.get("sha256"), manifest.get("bytes")):
        problems.append(f"{export.name}: its SHA-256 is not the manifest's (the file was changed)")
    return problems + seals_compare(manifest.get("seals") or [])


def seals_compare(seals: list[dict[str, Any]]) -> list[str]:
    """The manifest's seals against the database's: a chain rewritten since shows here."""
    if not seals:
        return []
    held_seals = AuditSeal.objects.filter(last_id__in=[seal["last_id"] for seal in seals])
    known = dict(held_seals.values_list("last_id", "hash"))
    problems = []
    for seal in seals:
        held = known.get(seal["last_id"])
        name = f"seal {seal['after_id'] + 1}-{seal['last_id']}"
        if held is None:
            problems.append(f"{name}: in the manifest, not in the database")
        elif held != seal["hash"]:
            problems.append(f"{name}: the database's hash is not the manifest's (the chain was rewritten)")
    return problems


class _Sink:
    """Where the zip is written as it is made: taken out after each piece, so nothing piles up."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def zip_stream(
    *, csv_name: str, pieces: Iterator[str], manifest: Callable[[], dict[str, Any]]
) -> Iterator[bytes]:
    """A zip streamed as it is made: the CSV, then its manifest (made once the CSV has gone through)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open(csv_name, "w", force_zip64=True) as member:
            for piece in pieces:
                member.write(piece.encode())
                if data := sink.take():
                    yield data
        archive.writestr(manifest_name(csv_name), manifest_text(manifest()))
    yield sink.take()


def manifest_name(csv_name: str) -> str:
    return f"{csv_name}.manifest.json"


def manifest_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
