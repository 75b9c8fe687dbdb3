"""Audit writes: rows are only ever inserted."""

from __future__ import annotations

from django.db.models.signals import post_save

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
    names its own subject and who it runs for. Not saved yet: see audit_rows_insert."""
    return AuditEvent(
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


def _saved(row: AuditEvent) -> AuditEvent:
    row.save(force_insert=True)
    return row


def audit_rows_insert(rows: list[AuditEvent]) -> list[AuditEvent]:
    """Rows of a batch in one INSERT, in order (their ids follow it). Each is then announced as saved,
    as a single row's save would (the metrics count audit rows by post_save)."""
    if not rows:
        return rows
    AuditEvent.objects.bulk_create(rows)
    for row in rows:
        post_save.send(
            sender=AuditEvent, instance=row, created=True, update_fields=None, raw=False, using="default"
        )
    return rows


def audit_exchange_row(
    *,
    job: TransferJob | None,
    exchange: Exchange,
    item: str = "",
    destination: str = "",
    subject: str = "",
    triggered_by: str = "",
    request: AuditEvent | None = None,
) -> AuditEvent:
    """One HTTP exchange, its answer or the lack of one, not saved yet (a batch inserts its answers
    together). `request` is the row written before it was sent."""
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


def audit_request_row(
    *,
    job: TransferJob | None,
    request: OutgoingRequest,
    item: str = "",
    destination: str = "",
    subject: str = "",
    triggered_by: str = "",
) -> AuditEvent:
    """What is about to be sent, written before it is (write-ahead): a worker that dies before the answer
    still leaves the request on record; its answer, a row of kind http, links it. Not saved yet (a batch
    writes its calls' request rows together)."""
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

    def __init__(
        self, *, job: TransferJob | None, subject: str = "", triggered_by: str = "", deferred: bool = False
    ) -> None:
        self.job = job
        self.subject = subject
        self.triggered_by = triggered_by
        self.item = ""
        self.destination = ""
        self.sent: AuditEvent | None = None  # the request row of the attempt on the wire
        # A batch's calls (services/batches.py): the first attempt's request row already written with
        # the claim, and the answer rows kept (`answers`) for the batch to insert with the results.
        self.deferred = deferred
        self.written: tuple[OutgoingRequest, AuditEvent] | None = None
        self.ahead: AuditEvent | None = None
        self.answers: list[AuditEvent] = []

    def about(self, *, item: str, destination: str = "") -> None:
        self.item = item
        self.destination = destination

    def _names(self) -> dict[str, str]:
        """What every row of this recorder names: the item and destination it is about now."""
        return {
            "item": self.item,
            "destination": self.destination,
            "subject": self.subject,
            "triggered_by": self.triggered_by,
        }

    def _write_kept(self) -> None:
        kept, self.answers = self.answers, []
        audit_rows_insert(kept)

    def expect(self, request: OutgoingRequest, row: AuditEvent) -> None:
        """`row`, committed already, is the request row of `request`'s attempt: not written again."""
        self.written = (request, row)

    def before_send(self, request: OutgoingRequest) -> None:
        if self.written is not None and self.written[0] == request:
            self.sent, self.written = self.written[1], None
            self.ahead = self.sent
            return
        # Anything else (a retry, a login first) is written now, as always, and commits before it leaves;
        # after the answers kept so far, so the rows keep the order of the attempts.
        self._write_kept()
        self.sent = _saved(audit_request_row(job=self.job, request=request, **self._names()))

    def __call__(self, exchange: Exchange) -> None:
        sent, self.sent = self.sent, None
        # Only the answer to the row written ahead waits for the batch: a login's or a retry's is
        # written now, as always (the sweep must not take an answered login for the unanswered call).
        row = audit_exchange_row(job=self.job, exchange=exchange, request=sent, **self._names())
        if self.deferred and sent is not None and sent is self.ahead:
            self.answers.append(row)
            return
        self._write_kept()
        _saved(row)


def audit_record_item(
    *, item: TransferItem, job: TransferJob, outcome: str, request: AuditEvent | None = None
) -> AuditEvent:
    """One row per item result, copied from the item as it now stands. `request`: the request row a
    hand-back found unanswered."""
    return _saved(audit_item_row(item=item, job=job, outcome=outcome, request=request))


def audit_item_row(
    *, item: TransferItem, job: TransferJob, outcome: str, request: AuditEvent | None = None
) -> AuditEvent:
    """audit_record_item's row, not saved yet (a batch inserts its results together)."""
    return AuditEvent(
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
