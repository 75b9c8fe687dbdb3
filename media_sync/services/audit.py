"""Audit writes: rows are only ever inserted."""

from __future__ import annotations

from integrations.errors import FailureClass
from integrations.http import Exchange
from media_sync.models import ANSWER_FIELDS, AuditEvent, AuditKind, Outcome, TransferItem, TransferJob


def audit_record_exchange(
    *,
    job: TransferJob | None,
    exchange: Exchange,
    item: str = "",
    destination: str = "",
    subject: str = "",
    triggered_by: str = "",
) -> AuditEvent:
    """One HTTP exchange: a job's, or background work's of no job (a thumbnail fetch), which names its
    own subject and who it runs for."""
    error = exchange.error
    return AuditEvent.objects.create(
        kind=AuditKind.HTTP,
        provider=exchange.provider,
        operation=exchange.operation,
        job=job,
        subject=job.subject if job else subject,
        item=item,
        destination=destination,
        outcome=Outcome.FAILED if error else Outcome.SUCCEEDED,
        http_status=exchange.status_code,
        error_code=error.code if error else "",
        failure_class=error.failure_class if error else "",
        message=error.message if error else "",
        attempt=exchange.attempt,
        duration_ms=exchange.duration_ms,
        triggered_by=job.triggered_by if job else triggered_by,
        method=exchange.method,
        path=exchange.path,
        request_summary=exchange.request_summary,
        response_summary=exchange.response_summary,
    )


def audit_record_refusal(
    *, provider: str, operation: str, triggered_by: str, message: str, subject: str = "", item: str = ""
) -> AuditEvent:
    """Input refused before any provider call: nothing was sent, and the reason is kept all the same,
    with what it was about (the order / work order / property, the file or photos), so it can be told."""
    return AuditEvent.objects.create(
        kind=AuditKind.REFUSAL,
        provider=provider,
        operation=operation,
        subject=subject[:200],
        item=item[:100],
        outcome=Outcome.FAILED,
        failure_class=FailureClass.INVALID_INPUT,
        message=message,
        triggered_by=triggered_by,
    )


def audit_name_items(values: list[str], noun: str) -> str:
    """Items as an audit cell: the values themselves when they fit, else how many ("12 photos")."""
    text = ", ".join(values)
    return text if len(values) < 2 or len(text) <= 100 else f"{len(values)} {noun}"


class ExchangeRecorder:
    """The hook a provider client reports each HTTP exchange to. The runner says, before each call,
    which item and destination the call is about, so every attempt's row names them."""

    def __init__(self, *, job: TransferJob | None, subject: str = "", triggered_by: str = "") -> None:
        self.job = job
        self.subject = subject
        self.triggered_by = triggered_by
        self.item = ""
        self.destination = ""

    def about(self, *, item: str, destination: str = "") -> None:
        self.item = item
        self.destination = destination

    def __call__(self, exchange: Exchange) -> None:
        audit_record_exchange(
            job=self.job,
            exchange=exchange,
            item=self.item,
            destination=self.destination,
            subject=self.subject,
            triggered_by=self.triggered_by,
        )


def audit_record_item(*, item: TransferItem, job: TransferJob, outcome: str) -> AuditEvent:
    """One row per item result, copied from the item as it now stands."""
    return AuditEvent.objects.create(
        kind=AuditKind.ITEM,
        provider=job.provider,
        operation=job.operation,
        job=job,
        subject=job.subject,
        item=item.item,
        destination=item.destination,
        outcome=outcome,
        attempt=item.attempts,
        triggered_by=job.triggered_by,
        **{name: getattr(item, name) for name in ANSWER_FIELDS},
    )
