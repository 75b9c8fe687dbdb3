"""Settings every provider client is built with."""

from __future__ import annotations

from functools import partial

from django.conf import settings

from integrations.http import OutgoingRequest, RetryPolicy, Transport
from media_sync.models import Provider
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim_commit
from media_sync.services.throttle import provider_slot


def retry_policy() -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.MEDIA_SYNC_MAX_ATTEMPTS,
        backoff_base=settings.MEDIA_SYNC_BACKOFF_BASE,
        backoff_max=settings.MEDIA_SYNC_BACKOFF_MAX,
    )


def write_ahead(recorder: ExchangeRecorder, request: OutgoingRequest) -> None:
    """The request row, committed before the request is sent: with the claim it follows when the run's
    claim is still open (one commit for both), else on its own."""
    recorder.before_send(request)
    job_claim_commit()


def provider_transport(provider: Provider, *, recorder: ExchangeRecorder) -> Transport:
    """How every client's calls travel: our timeouts and retries, each attempt to the audit before it is
    sent and once answered, and the provider's shared pace and concurrency cap."""
    return Transport(
        timeout=settings.MEDIA_SYNC_HTTP_TIMEOUT,
        retry=retry_policy(),
        on_exchange=recorder,
        on_request=partial(write_ahead, recorder),
        gate=partial(provider_slot, provider),
    )
