"""`manage.py check --deploy` names every provider setting a production run is missing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
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
    if not settings.AWS_STORAGE_BUCKET_NAME and not settings.MEDIA_SYNC_PUBLIC_BASE_URL:
        errors.append(
            Error(
                "MEDIA_SYNC_PUBLIC_BASE_URL is not set.",
                hint="Booking.com fetches photos from signed links under this address (or put media on S3).",
                id="media_sync.E002",
            )
        )
    return errors
