"""Audit writes: rows are only ever inserted."""

from __future__ import annotations

from integrations.errors import FailureClass
from integrations.http import Exchange, OutgoingRequest
from media_sync.models import ANSWER_FIELDS, AuditEvent, AuditKind, Outcome, TransferItem, TransferJob


def _call_row(
    *,
    kind: str,
    job: TransferJob | None,
    call: OutgoingRequest | Exchange,
    item: str,
    destination: str,
    subject: str,
    triggered_by: str,
    **answer: object,
) -> AuditEvent:
    """A row about one HTTP attempt: a job's, or background work's of no job (a thumbnail fetch), which
    names its own subject and who it runs for."""
    return AuditEvent.objects.create(
        kind=kind,
        provider=call.provider,
        operation=call.operation,
        job=job,
        subject=job.subject if job else subject,
        item=item,
        destination=destination,
        attempt=call.attempt,
        triggered_by=job.triggered_by if job else triggered_by,
        method=call.method,
        path=call.path,
        request_summary=call.request_summary,
        **answer,
    )


def audit_record_exchange(
    *,
    job: TransferJob | None,
    exchange: Exchange,
    item: str = "",
    destination: str = "",
    subject: str = "",
    triggered_by: str = "",
    request: AuditEvent | None = None,
) -> AuditEvent:
    """One HTTP exchange, its answer or the lack of one. `request` is the row written before it was sent."""
    error = exchange.error
    return _call_row(
        kind=AuditKind.HTTP,
        job=job,
        call=exchange,
        item=item,
        destination=destination,
        subject=subject,
        triggered_by=triggered_by,
        outcome=Outcome.FAILED if error else Outcome.SUCCEEDED,
        http_status=exchange.status_code,
        error_code=error.code if error else "",
        failure_class=error.failure_class if error else "",
        message=error.message if error else "",
        duration_ms=exchange.duration_ms,
        response_summary=exchange.response_summary,
        request=request,
    )


def audit_record_request(
    *,
    job: TransferJob | None,
    request: OutgoingRequest,
    item: str = "",
    destination: str = "",
    subject: str = "",
    triggered_by: str = "",
) -> AuditEvent:
    """What is about to be sent, written before it is (write-ahead): a worker that dies before the answer
    still leaves the request on record. Its answer, a row of kind http, links it."""
    return _call_row(
        kind=AuditKind.REQUEST,
        job=job,
        call=request,
        item=item,
        destination=destination,
        subject=subject,
        triggered_by=triggered_by,
        outcome=Outcome.PENDING,
        message=f"about to send {request.method} {request.path}"[:500],
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
    """The hooks a provider client reports each HTTP attempt to: before it is sent (`before_send`, a
    request row) and once it is over (the call itself, the answer row, linking its request). The runner
    says, before each call, which item and destination the call is about, so every row names them."""

    def __init__(self, *, job: TransferJob | None, subject: str = "", triggered_by: str = "") -> None:
        self.job = job
        self.subject = subject
        self.triggered_by = triggered_by
        self.item = ""
        self.destination = ""
        self.sent: AuditEvent | None = None  # the request row of the attempt on the wire

    def about(self, *, item: str, destination: str = "") -> None:
        self.item = item
        self.destination = destination

    def before_send(self, request: OutgoingRequest) -> None:
        self.sent = audit_record_request(
            job=self.job,
            request=request,
            item=self.item,
            destination=self.destination,
            subject=self.subject,
            triggered_by=self.triggered_by,
        )

    def __call__(self, exchange: Exchange) -> None:
        sent, self.sent = self.sent, None
        audit_record_exchange(
            job=self.job,
            exchange=exchange,
            item=self.item,
            destination=self.destination,
            subject=self.subject,
            triggered_by=self.triggered_by,
            request=sent,
        )


def audit_record_item(
    *, item: TransferItem, job: TransferJob, outcome: str, request: AuditEvent | None = None
) -> AuditEvent:
    """One row per item result, copied from the item as it now stands. `request`: the request row a
    hand-back found unanswered."""
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
        request=request,
        **{name: getattr(item, name) for name in ANSWER_FIELDS},
    )
