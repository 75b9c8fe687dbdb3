"""Live progress of the job and batch pages: the JSON that media_sync/static/media_sync/progress.js polls
instead of the page reloading itself under its reader."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime

from media_sync.selectors import ItemCounts

M = TypeVar("M", bound=Model)

POLL_MS = 2000
# Each answer's cursor lies this far back: a row stamped just before an answer but committed after it is
# still picked up by the next poll (at worst a row is drawn twice).
OVERLAP = timedelta(seconds=5)
# At most this many changed rows per answer; the cursor then continues from the last of them.
ROW_LIMIT = 200


class BadSince(ValueError):
    pass


def find(queryset: QuerySet[M], object_id: str) -> M | None:
    """The row with this primary key, None for a missing or malformed one (as ModelAdmin.get_object)."""
    try:
        return queryset.get(pk=queryset.model._meta.pk.to_python(object_id))
    except (ObjectDoesNotExist, ValidationError, ValueError):
        return None


def since_param(request: HttpRequest) -> datetime | None:
    """`?since=`: the cursor of the previous answer (or the page's own render time)."""
    raw = request.GET.get("since", "")
    if not raw:
        return None
    try:
        since = parse_datetime(raw)
    except ValueError:
        since = None
    if since is None or since.tzinfo is None:
        raise BadSince("since: an ISO 8601 time with its offset, as the previous answer's cursor")
    return since


def bad_since(error: BadSince) -> JsonResponse:
    return JsonResponse({"error": str(error)}, status=400)


def cursor_now() -> str:
    """What the page (or an answer with every change in it) tells the next poll to ask from."""
    return (timezone.now() - OVERLAP).isoformat()


def local_time(moment: datetime | None) -> str:
    """A time as the page's template prints it, or a dash."""
    return formats.localize(timezone.localtime(moment)) if moment else "—"


def percent(done: int, total: int) -> int:
    return int(done * 100 / total) if total else 100


def progress_json(
    *,
    state: str,
    state_label: str,
    ended: bool,
    counts: ItemCounts,
    rows: list[dict[str, Any]],
    text: dict[str, str],
    announce: str,
    can_retry: bool = False,
    more_from: datetime | None = None,
) -> JsonResponse:
    """One answer: the state, the per-state item counts, the changed rows (id, status and the row's HTML,
    drawn by the page's own template), the labels to update by element id, and the sentence to announce.
    `more_from`: the rows were cut at ROW_LIMIT; the next poll continues from this change time."""
    cursor = more_from.isoformat() if more_from else cursor_now()
    body = {
        "state": state,
        "state_label": state_label,
        "ended": ended,
        "counts": counts,
        "total": counts.total,
        "done": counts.done,
        "percent": percent(counts.done, counts.total),
        "rows": rows,
        "text": text,
        "announce": announce,
        "can_retry": can_retry,
        "cursor": cursor,
        "poll_ms": POLL_MS,
    }
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response
