"""The one error type the app handles from a provider call, and the failure classes a team lead filters on.

Nothing here imports Django.
"""

from __future__ import annotations

from enum import StrEnum


class FailureClass(StrEnum):
    """What a team lead filters on, derived from what happened. The values are stored: never rename one."""

    CONNECTION = "connection"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    INVALID_INPUT = "invalid_input"
    TOO_LARGE = "too_large"
    DUPLICATE = "duplicate"
    PROVIDER_RULE = "provider_rule"
    PROVIDER_ERROR = "provider_error"
    PARSE = "parse"
    INTERNAL = "internal"


class ProviderError(Exception):
    """A provider call that did not give what was asked: transient ones may be retried, the rest not."""

    def __init__(
        self,
        message: str,
        *,
        failure_class: FailureClass,
        transient: bool,
        http_status: int | None = None,
        code: str = "",
        retry_after: float | None = None,
        reference: str = "",
        unconfirmed: bool = False,
    ) -> None:
        super().__init__(message)
        # The request may have reached the provider and been carried out, only its answer was lost.
        self.unconfirmed = unconfirmed
        self.message = message
        self.reference = reference
        self.failure_class = failure_class
        self.transient = transient
        self.http_status = http_status
        self.code = code
        self.retry_after = retry_after


def error_for_status(
    status: int, message: str, *, code: str = "", retry_after: float | None = None
) -> ProviderError:
    """The generic reading of an HTTP status; provider clients refine it with their own error bodies.
    Throttling and the provider's own failures are transient (retried, honouring Retry-After); the rest
    are not."""
    if status == 429 or status >= 500:
        failure_class = FailureClass.RATE_LIMITED if status == 429 else FailureClass.PROVIDER_ERROR
        return ProviderError(
            message,
            failure_class=failure_class,
            transient=True,
            http_status=status,
            code=code,
            retry_after=retry_after,
        )
    failure_class = {
        401: FailureClass.AUTH,
        403: FailureClass.AUTH,
        404: FailureClass.NOT_FOUND,
        413: FailureClass.TOO_LARGE,
    }.get(status, FailureClass.INVALID_INPUT)
    return ProviderError(message, failure_class=failure_class, transient=False, http_status=status, code=code)
