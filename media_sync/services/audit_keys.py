"""The keys of signed manifests: the Ed25519 private key that signs them (MEDIA_SYNC_AUDIT_SIGNING_KEY) and
the public keys a signature is checked against (MEDIA_SYNC_AUDIT_VERIFY_KEY, or `verify_audit --public-key
FILE`, and the signing key's own public half). An auditor needs only a public key; the one a manifest
carries is never trusted by itself, since anyone can sign with a key of their own. No key's value is ever
shown in a message.
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_SETTING = "MEDIA_SYNC_AUDIT_SIGNING_KEY"
VERIFY_SETTING = "MEDIA_SYNC_AUDIT_VERIFY_KEY"
PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----", re.S)


def signing_key() -> Ed25519PrivateKey | None:
    """The configured key (PEM, or base64 of the 32-byte private key), or None. Its value is never shown."""
    text = settings.MEDIA_SYNC_AUDIT_SIGNING_KEY.strip()
    if not text:
        return None
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(
            f"{KEY_SETTING} is not an Ed25519 private key (PEM, or base64 of 32 bytes)"
        )
    return key


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_keys_parse(text: str, *, source: str) -> list[Ed25519PublicKey]:
    """Every Ed25519 public key in `text`: PEM blocks (`openssl pkey -pubout`), and base64 of 32 bytes,
    several separated by commas or white space (a PEM block holds neither comma nor a lone base64 word
    of that length). Anything else is refused, naming its place in `source`, never its value."""
    keys: list[Ed25519PublicKey] = []
    words = [("pem", block[0]) for block in PEM_BLOCK.finditer(text)]
    words += [("base64", word) for word in re.split(r"[,\s]+", PEM_BLOCK.sub(",", text)) if word]
    for number, (kind, word) in enumerate(words, start=1):
        key: object = None
        try:
            if kind == "pem":
                key = serialization.load_pem_public_key(word.encode())
            else:
                key = Ed25519PublicKey.from_public_bytes(base64.b64decode(word, validate=True))
        except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
            pass
        if not isinstance(key, Ed25519PublicKey):
            raise ImproperlyConfigured(
                f"{source}: key {number} is not an Ed25519 public key (PEM, or base64 of 32 bytes)"
            )
        keys.append(key)
    return keys


def verify_keys(given: list[Ed25519PublicKey] | None = None) -> list[Ed25519PublicKey]:
    """The public keys a signature may be checked against: those `given` (verify_audit --public-key),
    alone; otherwise the configured ones (several while keys rotate) and the signing key's public half."""
    if given is not None:
        return given
    keys = public_keys_parse(settings.MEDIA_SYNC_AUDIT_VERIFY_KEY, source=VERIFY_SETTING)
    if (private := signing_key()) is not None:
        keys.append(private.public_key())
    return keys
