"""A check's record: the item's latest result and its audit row (services/checks.py runs the checks)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from media_sync.models import (
    AuditEvent,
    AuditKind,
    CheckResult,
    Operation,
    Outcome,
    TransferItem,
    TransferJob,
)

# Who the nightly schedule's checks are recorded as.
SCHEDULE_USER = "schedule"
# What an earlier check found that makes "gone now" mean removed later rather than never there.
SEEN_BEFORE = (CheckResult.CONFIRMED, CheckResult.REMOVED_LATER)


@dataclass
class CheckSummary:
    """What one check found, to tell whoever asked."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    not_checked: int = 0
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        found = [f"{CheckResult(value).label.lower()} {n}" for value, n in sorted(self.counts.items()) if n]
        parts = [", ".join(found) or "nothing checked"]
        if self.not_checked:
            parts.append(f"{self.not_checked} could not be checked")
        parts.extend(self.problems)
        return "; ".join(parts)


def check_record(
    *,
    job: TransferJob,
    item: TransferItem,
    result: str,
    message: str,
    triggered_by: str,
    summary: CheckSummary,
) -> None:
    """The item's latest check (fields on the item) and its audit row, in one transaction. An empty
    `result`: the item could not be checked, and the message says why."""
    now = timezone.now()
    with transaction.atomic():
        TransferItem.objects.filter(pk=item.pk).update(
            checked_at=now, check_result=result, check_message=message
        )
        AuditEvent.objects.create(
            timestamp=now,
            kind=AuditKind.CHECK,
            provider=job.provider,
            operation=Operation.CHECK,
            job=job,
            subject=job.subject,
            item=item.item,
            destination=item.destination,
            outcome=Outcome.SUCCEEDED if result == CheckResult.CONFIRMED else Outcome.FAILED,
            provider_status=result,
            reference=item.reference,
            message=message,
            triggered_by=triggered_by,
        )
    item.checked_at, item.check_result, item.check_message = now, result, message
    if result:
        summary.counts[result] += 1
    else:
        summary.not_checked += 1


def gone_result(item: TransferItem, *, seen: bool = False) -> str:
    """Not found now: removed later when an earlier check had found it (or, `seen`, a refresh of the
    destination had), else missing."""
    return CheckResult.REMOVED_LATER if seen or item.check_result in SEEN_BEFORE else CheckResult.MISSING
