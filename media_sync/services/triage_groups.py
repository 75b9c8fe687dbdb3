"""An item joins its failure group when it ends failed: the one hook, in items.item_finish."""

from __future__ import annotations

import hashlib

from django.utils import timezone

from media_sync.models import (
    FailureGroup,
    GroupStatus,
    ItemStatus,
    TransferItem,
    TransferJob,
    TriageAction,
    TriageEvent,
)
from media_sync.selectors_dashboard import failure_pattern

# A new failure of a resolved group reopens it; an ignored group stays ignored (someone decided that
# this cause is not worth anyone's time), its last failure still counted.
REOPENS = (GroupStatus.RESOLVED,)


def failure_group_join(*, item: TransferItem, job: TransferJob) -> int | None:
    """The group of a failed item, made or touched with one upsert on its unique signature (safe with
    two workers failing the same way at once); a resolved group is reopened, and an event says so.
    Not failed: the item keeps the group it had. Called by items.item_finish in its transaction."""
    if item.status != ItemStatus.FAILED:
        return item.failure_group_id
    pattern = failure_pattern(item.message)
    key = "\x1f".join((job.provider, job.operation, item.failure_class, pattern))
    now = timezone.now()
    group = FailureGroup(
        signature=hashlib.sha256(key.encode()).hexdigest(),
        provider=job.provider,
        operation=job.operation,
        failure_class=item.failure_class,
        pattern=pattern,
        first_seen=now,
        last_seen=now,
        opened_at=now,
    )
    FailureGroup.objects.bulk_create(
        [group], update_conflicts=True, unique_fields=["signature"], update_fields=["last_seen"]
    )
    reopened = FailureGroup.objects.filter(pk=group.pk, status__in=REOPENS)
    if reopened.update(status=GroupStatus.OPEN, resolution="", opened_at=now):
        TriageEvent.objects.create(
            group_id=group.pk,
            item=item,
            action=TriageAction.REOPEN,
            status=GroupStatus.OPEN,
            note=f"{item} failed again in job {job.pk}: {item.message}"[:2000],
        )
    return group.pk
