"""The append-only audit: every provider exchange, item result, webhook, refusal and lockout."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from media_sync.models.jobs import ProviderAnswer, TransferJob
from media_sync.models.vocabulary import Outcome, Provider, operation_choices


class AuditKind(models.TextChoices):
    HTTP = "http", "HTTP exchange"
    ITEM = "item", "Item result"
    WEBHOOK = "webhook", "Webhook received"
    REFUSAL = "refusal", "Refused before sending"
    LOCKOUT = "lockout", "Login locked out"
    # What the mirror learnt without a job item of its own (a refresh no longer listing an attachment).
    MIRROR = "mirror", "Mirror changed"
    # Someone read a file we keep (our copy of a customer's attachment).
    ACCESS = "access", "Kept copy downloaded"
    # A succeeded item looked for at its destination afterwards (services/checks.py).
    CHECK = "check", "Checked at the provider"
    # Written before an HTTP request is sent (write-ahead); its answer is a row of kind http that links it.
    REQUEST = "request", "Request about to be sent"


def audit_kind_choices() -> list[tuple[str, str]]:
    return AuditKind.choices


class AuditEvent(ProviderAnswer):
    """Append-only: rows are inserted, never changed. A database trigger refuses UPDATE and DELETE."""

    timestamp = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=10, choices=audit_kind_choices)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    operation = models.CharField(max_length=40, choices=operation_choices)
    # PROTECT and no ON DELETE action: a job with audit rows can never be deleted from under them.
    job = models.ForeignKey(TransferJob, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    subject = models.CharField(max_length=200, blank=True)
    item = models.CharField(max_length=100, blank=True)
    destination = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    attempt = models.PositiveIntegerField(default=1)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    triggered_by = models.CharField(max_length=150, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=300, blank=True)
    request_summary = models.TextField(blank=True)
    response_summary = models.TextField(blank=True)
    # The request row (kind request) an answer (kind http) answers, or that a hand-back by the sweep found
    # unanswered. No database constraint: rows are only ever inserted, and archiving old rows must not be
    # held up by a newer row pointing at them.
    request = models.ForeignKey(
        "self", on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name = "audit event"
        permissions = [("export_auditevent", "Can export the audit as CSV")]
        indexes = [
            models.Index(fields=["-timestamp", "-id"], name="audit_recent"),
            models.Index(fields=["provider", "-timestamp"], name="audit_provider_recent"),
            models.Index(fields=["outcome", "-timestamp"], name="audit_outcome_recent"),
            # Each list filter, newest first; a team lead's usual view is one provider's failures.
            models.Index(fields=["outcome", "provider", "-timestamp"], name="audit_outcome_provider_recent"),
            models.Index(fields=["failure_class", "-timestamp"], name="audit_failure_recent"),
            models.Index(fields=["operation", "-timestamp"], name="audit_operation_recent"),
            models.Index(fields=["error_code", "-timestamp"], name="audit_error_code_recent"),
            models.Index(fields=["triggered_by", "-timestamp"], name="audit_user_recent"),
            # The list's exact-match search: photo, attachment, order or batch ids and provider references.
            # Newest first as well: a record's timeline (selectors.audit_timeline) filters on these.
            models.Index(fields=["item", "-timestamp"], name="audit_item_recent"),
            models.Index(fields=["destination", "-timestamp"], name="audit_destination_recent"),
            models.Index(fields=["reference"], name="audit_reference"),
            models.Index(fields=["subject", "-timestamp"], name="audit_subject_recent"),
            # The dashboard's counts (selectors_dashboard.dashboard_volume): a period's item results by
            # provider and outcome from the index alone, never the table; the kind filter's list too.
            models.Index(
                fields=["kind", "-timestamp"], include=["provider", "outcome"], name="audit_kind_recent"
            ),
            # The results that did not succeed, with what finding a later result of the same item needs:
            # the dashboard looks for one only after these (about a tenth of the rows), from the index.
            models.Index(
                fields=["-timestamp"],
                include=["id", "kind", "provider", "outcome", "job", "item", "destination"],
                condition=~models.Q(outcome=Outcome.SUCCEEDED),
                name="audit_unsettled_recent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.provider} {self.operation} {self.outcome}"
