"""Triage of failure groups: people acknowledge, assign, note, resolve, ignore and retry, each an
append-only TriageEvent. Items join their group in services/triage_groups.py. Nothing here touches the
audit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from media_sync.models import (
    FailureGroup,
    GroupStatus,
    ItemStatus,
    ResolveReason,
    TransferItem,
    TransferJob,
    TriageAction,
    TriageEvent,
)
from media_sync.roles import OPERATORS, TEAM_LEADS
from media_sync.services.jobs import job_retry_failed
from media_sync.services.refusals import InputRefused

# The status an action leaves its group (or item) in; None: unchanged.
ACTION_STATUS: dict[str, GroupStatus | None] = {
    TriageAction.ACKNOWLEDGE: GroupStatus.ACKNOWLEDGED,
    TriageAction.ASSIGN: None,
    TriageAction.NOTE: None,
    TriageAction.RESOLVE: GroupStatus.RESOLVED,
    TriageAction.IGNORE: GroupStatus.IGNORED,
}
# What a person may do; retrying is its own action (triage_retry), reopening the app's.
PEOPLES_ACTIONS = tuple(ACTION_STATUS)
# Operators acknowledge and note; deciding (assign, resolve, ignore) is a team lead's.
DECIDING_ACTIONS = (TriageAction.ASSIGN, TriageAction.RESOLVE, TriageAction.IGNORE)
TRIAGE_NOTE, TRIAGE_DECIDE = "media_sync.triage_note", "media_sync.triage_decide"


def triage_assignees() -> Q:
    """Who a failure may be assigned to: active operators and team leads."""
    return Q(is_active=True, groups__name__in=(OPERATORS, TEAM_LEADS))


def triage_act(
    *,
    group: FailureGroup,
    action: str,
    by: User,
    items: Sequence[TransferItem] = (),
    owner: User | None = None,
    reason: str = "",
    note: str = "",
) -> list[TriageEvent]:
    """One triage action on a group, or on some of its failed items (then the group stays as it is):
    one event per group or item. Refused (InputRefused) when the action, its owner or reason is wrong
    or `by` may not do it. The permission is checked here too, not only by the page."""
    if action not in PEOPLES_ACTIONS:
        raise InputRefused(f"no such triage action: {action}")
    needed = TRIAGE_DECIDE if action in DECIDING_ACTIONS else TRIAGE_NOTE
    if not by.has_perm(needed):
        raise InputRefused(f"{by.username} may not {action} failures")
    note = note.strip()
    if action == TriageAction.NOTE and not note:
        raise InputRefused("a note needs some words")
    if action == TriageAction.ASSIGN and (
        owner is None or not User.objects.filter(triage_assignees(), pk=owner.pk).exists()
    ):
        raise InputRefused("a failure is assigned to an operator or a team lead")
    if action == TriageAction.RESOLVE and reason not in ResolveReason.values:
        raise InputRefused("resolving needs a reason: retried, fixed at the provider or not needed")
    if any(item.failure_group_id != group.pk or item.status != ItemStatus.FAILED for item in items):
        raise InputRefused("only this group's failed items can be triaged here")
    status = ACTION_STATUS[action]
    with transaction.atomic():
        group = FailureGroup.objects.select_for_update().get(pk=group.pk)
        event: dict[str, Any] = {
            "group": group,
            "action": action,
            "actor": by.username,
            "owner": owner.username if owner and action == TriageAction.ASSIGN else "",
            "reason": reason if action == TriageAction.RESOLVE else "",
            "note": note,
        }
        if not items:
            _refuse_no_change(group, action, by=by, owner=owner, reason=event["reason"])
        if items:
            return TriageEvent.objects.bulk_create(
                TriageEvent(**event, item=item, status=status or GroupStatus.OPEN) for item in items
            )
        if action == TriageAction.ASSIGN:
            group.owner = owner
        if status is not None:
            group.status = status
            group.resolution = event["reason"]
        group.save(update_fields=["owner", "status", "resolution"])
        return [TriageEvent.objects.create(**event, status=group.status)]


def _refuse_no_change(group: FailureGroup, action: str, *, by: User, owner: User | None, reason: str) -> None:
    """A group action that would change nothing is refused rather than written again; a note is the way
    to add words to an unchanged group. Acknowledging says who has seen it, so a second person may; the
    same person twice may not."""
    last_ack = group.events.filter(action=TriageAction.ACKNOWLEDGE).order_by("-id").first()
    unchanged_by: dict[str, bool] = {
        TriageAction.ACKNOWLEDGE: group.status == GroupStatus.ACKNOWLEDGED
        and last_ack is not None
        and last_ack.actor == by.username,
        TriageAction.ASSIGN: owner is not None and group.owner_id == owner.pk,
        TriageAction.RESOLVE: group.status == GroupStatus.RESOLVED and group.resolution == reason,
        TriageAction.IGNORE: group.status == GroupStatus.IGNORED,
    }
    if unchanged_by.get(action, False):
        now = f"assigned to {owner.username}" if action == TriageAction.ASSIGN and owner else group.status
        raise InputRefused(f"this group is already {now}: nothing to change (add a note instead)")


def triage_retry(*, group: FailureGroup, by: User, enqueue: bool = True) -> int:
    """Retry exactly the group's failed items, through each job's own retry (jobs.job_retry_failed);
    one event says how many went back to the queue."""
    jobs = TransferJob.objects.filter(items__failure_group=group, items__status=ItemStatus.FAILED).distinct()
    count = 0
    for job in jobs:
        failed = job.items.filter(failure_group=group, status=ItemStatus.FAILED)
        count += job_retry_failed(job=job, only=failed, enqueue=enqueue)
    if count:
        TriageEvent.objects.create(
            group=group,
            action=TriageAction.RETRY,
            actor=by.username,
            status=group.status,
            note=f"{count} failed item{'s' * (count != 1)} sent back to the queue",
        )
    return count
