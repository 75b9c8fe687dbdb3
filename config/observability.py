"""What leaves the app about itself: log records carrying the job and item they are about, with link
secrets redacted, and error reports to Sentry scrubbed with the audit's own redaction."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from integrations.redaction import redact

# The job and item the current thread is working on (set by the job runner), added to every log record.
_about: ContextVar[dict[str, str]] = ContextVar("media_sync_log_about", default={})  # noqa: B039


@contextmanager
def log_about(**ids: object) -> Iterator[None]:
    """Every record logged inside names these ids (job_id=…, item=…), on top of any set further out."""
    reset = _about.set({**_about.get(), **{key: str(value) for key, value in ids.items()}})
    try:
        yield
    finally:
        _about.reset(reset)


class AboutFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _about.get().items():
            setattr(record, key, value)
        return True


class RedactLinkSecrets(logging.Filter):
    """At DEBUG urllib3 logs each request line with its query string, and botocore each request's
    signature: a pre-signed link's query is its credential (`signature=`, `X-Amz-Signature=`). On those
    loggers themselves, so every handler gets the redacted line whatever the levels are set to."""

    QUERY = re.compile(r"\?[^\s\"'<>]+")
    SIGNATURE = re.compile(r"(Signature[=:]\s*)[^\s,;\"'&]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.SIGNATURE.sub(r"\1[redacted]", self.QUERY.sub("?[redacted]", message))
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_LINK_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, str):
        return _LINK_QUERY.sub(r"\1?[redacted]", value)
    return value


def sentry_scrub(event: Any, hint: Any) -> Any:
    """Secrets out of an error report the way the audit keeps them out: values under keys that name a
    password, token, key, signature or cookie are replaced, and the query of every link (a pre-signed
    link carries its signature there) is dropped, in local variables and messages alike. The command
    line is left out: it may name anything."""
    event = _scrub(redact(event))
    event.get("extra", {}).pop("sys.argv", None)
    request = event.get("request")
    if isinstance(request, dict) and request.get("query_string"):
        request["query_string"] = "[redacted]"
    return event


def sentry_start(dsn: str, *, environment: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        before_send=sentry_scrub,
        traces_sample_rate=0.0,
    )


def logging_config(*, level: str, log_format: str) -> dict[str, Any]:
    """Django's LOGGING: one console handler, plain or JSON lines, every record carrying the job and item
    it is about; urllib3 and django-axes quiet, and link secrets redacted where a URL could be logged."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            # One JSON object per line; a record logged during a job also carries job_id (and item).
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "filters": {
            "redact_link_secrets": {"()": "config.observability.RedactLinkSecrets"},
            "about": {"()": "config.observability.AboutFilter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["about"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # urllib3 logs full URLs at DEBUG; keep it quiet, and redacted should someone turn it up.
            "urllib3": {"level": "WARNING"},
            # django-axes logs every login at INFO; lockouts, its warnings, are in the audit too.
            "axes": {"level": "WARNING"},
            **{
                name: {"filters": ["redact_link_secrets"]}
                for name in ("urllib3.connectionpool", "botocore.auth", "botocore.endpoint")
            },
        },
    }
