"""The bearer token CorrigoPro puts on its webhook calls: verified by us, issued by the simulator and tests.

The public docs say only that the header is `Authorization: Bearer <payload><---->signature`, that the
signature is checked against a certificate CorrigoPro publishes, and that the payload names the audience
`CorrigoProDirect` with issued/expiry times about 20 minutes apart. The exact encoding below is OUR READING,
not a documented format; if a real token differs, only `verify_token` and `sign_token` should need to change:

- payload   = base64url (no padding) of compact JSON
              `{"aud": "CorrigoProDirect", "iat": <epoch int>, "exp": <epoch int>}`
              (other keys, such as "iss", are allowed and returned);
- signature = base64url (no padding) of RSA PKCS#1 v1.5 SHA-256 over the ASCII bytes of the payload part;
- token     = payload + "<---->" + signature.

The certificate is pinned: only its public key is used. Its validity dates and chain are not checked, because
the provider publishes one certificate to trust, not a CA to chain to; rotate it in settings when they do.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import json
import re
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.x509.oid import NameOID

SEPARATOR = "<---->"
AUDIENCE = "CorrigoProDirect"
# Far above a real token (a few hundred bytes); refusing early keeps a hostile header from costing CPU.
MAX_TOKEN_LENGTH = 8192

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class WebhookAuthError(Exception):
    """A refused webhook token. `reason` is short and fixed, fit for an audit row; never holds the token."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    # urlsafe_b64decode silently skips characters outside the alphabet; a token must be exactly base64url.
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as error:  # e.g. a length of 4n+1, which no byte string encodes to
        raise ValueError("not base64url") from error


@functools.lru_cache(maxsize=8)
def _public_key(certificate_pem: bytes) -> RSAPublicKey:
    # Cached: the same pinned certificate is used for every webhook. A broken certificate is our configuration
    # error, so it raises ValueError (the webhook answers 5xx and CorrigoPro retries), not WebhookAuthError.
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    key = certificate.public_key()
    if not isinstance(key, RSAPublicKey):
        raise ValueError(f"The CorrigoPro certificate holds a {type(key).__name__}, not an RSA key.")
    return key


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    # bool is an int subclass; `"exp": true` is not a time.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WebhookAuthError("malformed token", f"claim {name!r} is missing or not a number")
    return float(value)


def verify_token(
    authorization_header: str | None,
    *,
    certificate_pem: bytes,
    audience: str = AUDIENCE,
    now: float,
    leeway_s: int = 60,
) -> dict[str, Any]:
    """Check a full `Authorization` header value and return the token's claims, or raise WebhookAuthError."""
    public_key = _public_key(certificate_pem)
    if authorization_header is None or not authorization_header.strip():
        raise WebhookAuthError("missing token")
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise WebhookAuthError("malformed token", "the scheme is not Bearer")
    token = token.strip()
    if not token:
        raise WebhookAuthError("missing token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise WebhookAuthError("malformed token", "too long")
    # "<" and ">" are outside base64url, so the separator cannot occur inside either part.
    parts = token.split(SEPARATOR)
    if len(parts) != 2:
        raise WebhookAuthError("malformed token", f"expected payload{SEPARATOR}signature")
    payload, signature_text = parts
    try:
        signature = _b64url_decode(signature_text)
        payload_bytes = _b64url_decode(payload)
    except ValueError:
        raise WebhookAuthError("malformed token", "a part is not base64url") from None
    # The signature is checked before the payload is parsed: nothing unauthenticated is interpreted.
    try:
        public_key.verify(signature, payload.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise WebhookAuthError("bad signature") from None
    try:
        claims = json.loads(payload_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookAuthError("malformed token", "the payload is not JSON") from None
    if not isinstance(claims, dict):
        raise WebhookAuthError("malformed token", "the payload is not a JSON object")
    aud = claims.get("aud")
    # JWT allows a list of audiences; accepting one costs nothing and hides no risk.
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise WebhookAuthError("wrong audience")
    expires_at, issued_at = _number(claims, "exp"), _number(claims, "iat")
    if now > expires_at + leeway_s:
        raise WebhookAuthError("expired", f"{now - expires_at:.0f} s ago")
    if issued_at > now + leeway_s:
        raise WebhookAuthError("not yet valid", f"issued {issued_at - now:.0f} s in the future")
    if "nbf" in claims and _number(claims, "nbf") > now + leeway_s:
        raise WebhookAuthError("not yet valid", "nbf is in the future")
    return claims


def sign_token(claims: dict[str, Any], *, private_key: RSAPrivateKey) -> str:
    """Encode and sign claims the way `verify_token` reads them (simulator and tests only)."""
    payload = _b64url_encode(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    signature = private_key.sign(payload.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return payload + SEPARATOR + _b64url_encode(signature)


def generate_signing_identity(common_name: str = "CorrigoPro simulator") -> tuple[RSAPrivateKey, bytes]:
    """A fresh 2048-bit RSA key and a self-signed certificate (PEM) valid for a year."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Backdated a little so a verifier whose clock runs slightly behind still accepts it.
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)
