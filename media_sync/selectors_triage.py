"""Reads about failure groups and their triage: the open-failures page's counts, a group's items, the
triage events of a record's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from media_sync.models import (
    STILL_OPEN,
    FailureGroup,
    ItemStatus,
    Provider,
    TransferItem,
    TriageEvent,
)
from media_sync.selectors import ITEM_FIELDS, about_q

FAILED = Q(items__status=ItemStatus.FAILED)


def with_failed_counts(groups: QuerySet[FailureGroup]) -> QuerySet[FailureGroup]:
    """Groups annotated with how many of their items are failed now (`failed`)."""
    return groups.annotate(failed=Count("items", filter=FAILED))


@dataclass(frozen=True)
class OpenCount:
    label: str
    groups: int
    failed: int


def open_failure_counts() -> tuple[list[OpenCount], list[OpenCount]]:
    """Groups still open (open or acknowledged) and their failed items, per provider and per owner
    (two grouped queries)."""
    still_open = FailureGroup.objects.filter(status__in=STILL_OPEN).order_by()
    by_provider = [
        OpenCount(Provider(row["provider"]).label, row["groups"], row["failed"])
        for row in still_open.values("provider")
        .annotate(groups=Count("id", distinct=True), failed=Count("items", filter=FAILED))
        .order_by("provider")
    ]
    by_owner = [
        OpenCount(row["owner__username"] or "nobody", row["groups"], row["failed"])
        for row in still_open.values("owner__username")
        .annotate(groups=Count("id", distinct=True), failed=Count("items", filter=FAILED))
        .order_by("owner__username")
    ]
    return by_provider, by_owner


def group_failed_items(group: FailureGroup, *, limit: int) -> list[TransferItem]:
    """The group's failed items, oldest first, each with its latest item triage action (`triaged`)."""
    latest = TriageEvent.objects.filter(item=OuterRef("pk")).order_by("-timestamp", "-id")
    return list(
        group.items.filter(status=ItemStatus.FAILED)
        .select_related("job")
        .annotate(triaged=Subquery(latest.values("action")[:1]))
        .order_by("updated_at", "id")[:limit]
    )


def triage_timeline(about: list[dict[str, Any]], *, limit: int) -> list[TriageEvent]:
    """The triage events about one record (its `selectors.timeline_about`), newest first: on its failed
    items, and on their groups."""
    items = TransferItem.objects.filter(about_q(about, ITEM_FIELDS), failure_group__isnull=False)
    on_them = Q(item__in=items.values("pk")) | Q(item__isnull=True, group__in=items.values("failure_group"))
    events = TriageEvent.objects.filter(on_them).select_related("group", "item")
    return list(events.order_by("-timestamp", "-id")[:limit])
