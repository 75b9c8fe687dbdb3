"""The CorrigoPro webhook bearer token: signed by the simulator's identity, checked by verify_token."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.x509.oid import NameOID

from integrations.corrigopro.webhook_auth import (
    SEPARATOR,
    WebhookAuthError,
    generate_signing_identity,
    sign_token,
    verify_token,
)

NOW = 1_800_000_000.0
Identity = tuple[RSAPrivateKey, bytes]


@pytest.fixture(scope="module")
def identity() -> Identity:
    return generate_signing_identity()


@pytest.fixture(scope="module")
def other_identity() -> Identity:
    return generate_signing_identity("someone else")


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"aud": "CorrigoProDirect", "iat": int(NOW), "exp": int(NOW) + 1200}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verify(header: str | None, certificate_pem: bytes, now: float = NOW) -> dict[str, Any]:
    return verify_token(header, certificate_pem=certificate_pem, now=now)


def reason_of(header: str | None, certificate_pem: bytes, now: float = NOW) -> str:
    with pytest.raises(WebhookAuthError) as caught:
        verify(header, certificate_pem, now)
    return caught.value.reason


def test_a_valid_token_passes_and_returns_its_claims(identity: Identity) -> None:
    key, certificate = identity
    token = sign_token(claims(iss="corrigopro-simulator"), private_key=key)
    expected = {
        "aud": "CorrigoProDirect",
        "iat": int(NOW),
        "exp": int(NOW) + 1200,
        "iss": "corrigopro-simulator",
    }
    assert verify(f"Bearer {token}", certificate) == expected
    # The scheme is case-insensitive and surrounding blanks do not matter.
    assert verify(f"  bEaReR   {token} ", certificate) == expected


def test_the_encoding_is_compact_json_then_separator_then_an_rsa_sha256_signature(identity: Identity) -> None:
    key, certificate = identity
    token = sign_token(claims(), private_key=key)
    payload, signature = token.split(SEPARATOR)
    assert "=" not in token and SEPARATOR == "<---->"
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert decoded == json.dumps(claims(), separators=(",", ":")).encode()
    public_key = x509.load_pem_x509_certificate(certificate).public_key()
    assert isinstance(public_key, RSAPublicKey)
    raw_signature = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    public_key.verify(raw_signature, payload.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_the_generated_certificate_is_self_signed_rsa_2048_for_a_year() -> None:
    key, pem = generate_signing_identity("Test CN")
    certificate = x509.load_pem_x509_certificate(pem)
    assert key.key_size == 2048
    assert certificate.subject == certificate.issuer
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Test CN"
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert datetime.timedelta(days=365) <= lifetime <= datetime.timedelta(days=366)
    public_key = certificate.public_key()
    assert isinstance(public_key, RSAPublicKey)
    assert public_key.public_numbers() == key.public_key().public_numbers()


@pytest.mark.parametrize("header", [None, "", "   ", "Bearer", "Bearer    "])
def test_a_missing_token_is_refused(identity: Identity, header: str | None) -> None:
    assert reason_of(header, identity[1]) == "missing token"


@pytest.mark.parametrize("scheme", ["Basic", "Token", "Bearer:"])
def test_a_scheme_other_than_bearer_is_malformed(identity: Identity, scheme: str) -> None:
    token = sign_token(claims(), private_key=identity[0])
    assert reason_of(f"{scheme} {token}", identity[1]) == "malformed token"
    assert reason_of(token, identity[1]) == "malformed token"  # no scheme at all


def test_a_token_without_exactly_one_separator_is_malformed(identity: Identity) -> None:
    token = sign_token(claims(), private_key=identity[0])
    payload, signature = token.split(SEPARATOR)
    for broken in (f"{payload}.{signature}", f"{payload}{SEPARATOR}{signature}{SEPARATOR}x", payload):
        assert reason_of(f"Bearer {broken}", identity[1]) == "malformed token"


@pytest.mark.parametrize(
    "token",
    [
        f"!!not base64!!{SEPARATOR}abc",
        f"eyJhIjoxfQ{SEPARATOR}a b",
        f"eyJhIjoxfQ{SEPARATOR}abcde",  # 4n+1 characters: no byte string encodes to that
        f"eyJhIjoxfQ=={SEPARATOR}abcd",  # padding is not part of the encoding
        f"{SEPARATOR}abcd",
        "x" * 9000 + SEPARATOR + "abcd",
    ],
)
def test_garbage_base64_is_malformed(identity: Identity, token: str) -> None:
    assert reason_of(f"Bearer {token}", identity[1]) == "malformed token"


def test_a_signature_by_another_key_is_refused(identity: Identity, other_identity: Identity) -> None:
    forged = sign_token(claims(), private_key=other_identity[0])
    assert reason_of(f"Bearer {forged}", identity[1]) == "bad signature"


def test_a_tampered_payload_is_refused(identity: Identity) -> None:
    token = sign_token(claims(), private_key=identity[0])
    signature = token.split(SEPARATOR)[1]
    later = b64url(json.dumps(claims(exp=int(NOW) + 999_999), separators=(",", ":")).encode())
    assert reason_of(f"Bearer {later}{SEPARATOR}{signature}", identity[1]) == "bad signature"
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert (
        reason_of(f"Bearer {token.split(SEPARATOR)[0]}{SEPARATOR}{flipped}", identity[1]) == "bad signature"
    )


def test_a_signed_payload_that_is_not_a_json_object_is_malformed(identity: Identity) -> None:
    key, certificate = identity
    for raw in (b"not json", b"[1, 2]", b"\xff\xfe"):
        payload = b64url(raw)
        signature = key.sign(payload.encode(), padding.PKCS1v15(), hashes.SHA256())
        assert reason_of(f"Bearer {payload}{SEPARATOR}{b64url(signature)}", certificate) == "malformed token"


@pytest.mark.parametrize(
    "overrides",
    [{"exp": None}, {"iat": None}, {"exp": "soon"}, {"iat": True}, {"exp": [1]}],
)
def test_missing_or_non_numeric_times_are_malformed(identity: Identity, overrides: dict[str, Any]) -> None:
    token = sign_token(claims(**overrides), private_key=identity[0])
    assert reason_of(f"Bearer {token}", identity[1]) == "malformed token"


@pytest.mark.parametrize("audience", ["CorrigoPro", "corrigoprodirect", None, ["Other"], 7])
def test_a_wrong_audience_is_refused(identity: Identity, audience: Any) -> None:
    token = sign_token(claims(aud=audience), private_key=identity[0])
    assert reason_of(f"Bearer {token}", identity[1]) == "wrong audience"


def test_an_audience_list_naming_us_and_a_custom_audience_are_accepted(identity: Identity) -> None:
    key, certificate = identity
    token = sign_token(claims(aud=["Other", "CorrigoProDirect"]), private_key=key)
    assert verify(f"Bearer {token}", certificate)["aud"] == ["Other", "CorrigoProDirect"]
    custom = sign_token(claims(aud="Sandbox"), private_key=key)
    assert verify_token(f"Bearer {custom}", certificate_pem=certificate, audience="Sandbox", now=NOW)


def test_expiry_allows_the_leeway_and_no_more(identity: Identity) -> None:
    key, certificate = identity
    header = f"Bearer {sign_token(claims(), private_key=key)}"
    expires_at = NOW + 1200
    assert verify(header, certificate, now=expires_at + 60)
    assert reason_of(header, certificate, now=expires_at + 61) == "expired"
    assert reason_of(header, certificate, now=expires_at + 3600) == "expired"
    with pytest.raises(WebhookAuthError):
        verify_token(header, certificate_pem=certificate, now=expires_at + 1, leeway_s=0)


def test_a_token_issued_in_the_future_is_not_yet_valid(identity: Identity) -> None:
    key, certificate = identity
    soon = sign_token(claims(iat=int(NOW) + 30, exp=int(NOW) + 1230), private_key=key)
    assert verify(f"Bearer {soon}", certificate)  # within the leeway: clocks differ a little
    later = sign_token(claims(iat=int(NOW) + 120, exp=int(NOW) + 1320), private_key=key)
    assert reason_of(f"Bearer {later}", certificate) == "not yet valid"
    not_before = sign_token(claims(nbf=int(NOW) + 600), private_key=key)
    assert reason_of(f"Bearer {not_before}", certificate) == "not yet valid"


def test_error_messages_never_contain_the_token(identity: Identity, other_identity: Identity) -> None:
    key, certificate = identity
    tokens = [
        sign_token(claims(), private_key=other_identity[0]),  # bad signature
        sign_token(claims(aud="Other"), private_key=key),  # wrong audience
        sign_token(claims(exp=int(NOW) - 3600), private_key=key),  # expired
        sign_token(claims(iat=int(NOW) + 3600), private_key=key),  # not yet valid
        sign_token(claims(exp="x"), private_key=key),  # malformed claim
    ]
    tokens.append(tokens[1].replace(SEPARATOR, "."))  # malformed shape
    tokens.append("A" * 40 + SEPARATOR + "!" * 40)  # malformed base64
    for token in tokens:
        for header in (f"Bearer {token}", f"Basic {token}"):
            with pytest.raises(WebhookAuthError) as caught:
                verify(header, certificate)
            shown = f"{caught.value} {caught.value!r} {caught.value.reason}"
            for piece in (token, *token.split(SEPARATOR)):
                assert piece not in shown
            assert caught.value.__cause__ is None  # no chained error repeating the input either


def test_a_certificate_without_an_rsa_key_is_a_configuration_error(identity: Identity) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ec_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(ec_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    token = sign_token(claims(), private_key=identity[0])
    # Not a WebhookAuthError: our setup is broken, the sender is not to blame (the webhook answers 5xx).
    with pytest.raises(ValueError, match="not an RSA key"):
        verify(f"Bearer {token}", certificate)
    with pytest.raises(ValueError):
        verify(f"Bearer {token}", b"not a certificate")
