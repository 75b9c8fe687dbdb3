"""Settings every provider client is built with."""

from __future__ import annotations

from django.conf import settings

from integrations.http import RetryPolicy


def retry_policy() -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.MEDIA_SYNC_MAX_ATTEMPTS,
        backoff_base=settings.MEDIA_SYNC_BACKOFF_BASE,
        backoff_max=settings.MEDIA_SYNC_BACKOFF_MAX,
    )
