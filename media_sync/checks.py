"""`manage.py check --deploy` names every provider setting a production run is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from django.conf import settings
from django.core import checks
from django.core.checks import Error, Tags, register

REQUIRED_PROVIDER_SETTINGS = {
    "RECOVERYCONNECT": {
        "BASE_URL": "RECOVERYCONNECT_BASE_URL",
        "USERNAME": "RECOVERYCONNECT_USERNAME",
        "PASSWORD": "RECOVERYCONNECT_PASSWORD",
    },
    "CORRIGOPRO": {
        "BASE_URL": "CORRIGOPRO_BASE_URL",
        "TOKEN_URL": "CORRIGOPRO_TOKEN_URL",
        "CLIENT_ID": "CORRIGOPRO_CLIENT_ID",
        "CLIENT_SECRET": "CORRIGOPRO_CLIENT_SECRET",
        "WEBHOOK_CERTIFICATE": "CORRIGOPRO_WEBHOOK_CERTIFICATE",
    },
    "SUAPI": {"BASE_URL": "SUAPI_BASE_URL", "APP_ID": "SUAPI_APP_ID", "API_KEY": "SUAPI_API_KEY"},
}


def _is_certificate(path: Path) -> bool:
    try:
        x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    return True


@register(Tags.security, deploy=True)
def provider_settings_check(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    for group, names in REQUIRED_PROVIDER_SETTINGS.items():
        values = getattr(settings, group, {})
        for key, variable in names.items():
            if not values.get(key):
                errors.append(
                    Error(
                        f"{variable} is not set.",
                        hint=f"Set the environment variable {variable}; with DEBUG off nothing is defaulted.",
                        id="media_sync.E001",
                    )
                )
    certificate = settings.CORRIGOPRO.get("WEBHOOK_CERTIFICATE")
    if certificate and not _is_certificate(Path(certificate)):
        errors.append(
            Error(
                f"CORRIGOPRO_WEBHOOK_CERTIFICATE ({certificate}) is not a readable PEM certificate.",
                hint="Every CorrigoPro webhook would be refused with 503 until it is.",
                id="media_sync.E003",
            )
        )
    if not settings.AWS_STORAGE_BUCKET_NAME and not settings.MEDIA_SYNC_PUBLIC_BASE_URL:
        errors.append(
            Error(
                "MEDIA_SYNC_PUBLIC_BASE_URL is not set.",
                hint="Booking.com fetches photos from signed links under this address (or put media on S3).",
                id="media_sync.E002",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def mail_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.EMAIL_CONFIGURED:
        return []
    return [
        checks.Warning(
            "EMAIL_URL is not set: alerts go to SMTP on localhost:25, if anything listens there.",
            hint="Set EMAIL_URL, e.g. smtp+tls://user:password@mail.example.com:587.",
            id="media_sync.W001",
        )
    ]
