"""Saved views: a filtered admin list kept under a name, private to its owner or shared with the team.

Which lists a person may view is the admin's to say (it knows the ModelAdmins and their permissions): the
callers pass it in as `viewable`, the labels (`app_label.model_name`) of the lists that person may open."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import parse_qsl, urlencode

from django.contrib.auth.models import User
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from media_sync.models import SavedView
from media_sync.models.saved_views import QUERY_MAX_LENGTH
from media_sync.services.refusals import InputRefused

# Not part of what a list shows: the page number (the view should open on its first page as the list
# grows) and the admin's popup markers (they turn the list into a chooser for another form).
DROPPED_PARAMS = frozenset({"p", "_popup", "_to_field"})
NAME_MAX_LENGTH = 100


def saved_view_query(raw: str) -> str:
    """The query string as kept: re-encoded from its parameters, so whatever came in (a leading '?',
    stray characters, line breaks) leaves only `name=value` pairs, percent-encoded."""
    if len(raw) > QUERY_MAX_LENGTH:
        raise InputRefused(f"That list's filters are too long to save (over {QUERY_MAX_LENGTH} characters).")
    pairs = [(k, v) for k, v in parse_qsl(raw.lstrip("?"), keep_blank_values=True) if k not in DROPPED_PARAMS]
    query = urlencode(pairs)
    if len(query) > QUERY_MAX_LENGTH:
        raise InputRefused(f"That list's filters are too long to save (over {QUERY_MAX_LENGTH} characters).")
    return query


def saved_view_save(
    *,
    owner: User,
    name: str,
    shared: bool,
    changelist: str,
    query: str,
    viewable: Collection[str],
) -> SavedView:
    """Keep a view of a list its owner may view; InputRefused (nothing written) for any other target."""
    name = name.strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise InputRefused(f"A saved view needs a name of 1 to {NAME_MAX_LENGTH} characters.")
    if changelist not in viewable:
        raise InputRefused("That is not a list you may open here: nothing was saved.")
    return SavedView.objects.create(
        owner=owner, name=name, shared=shared, changelist=changelist, query=saved_view_query(query)
    )


def saved_views_visible(
    *, user: User, viewable: Collection[str], changelist: str | None = None
) -> QuerySet[SavedView]:
    """The views this person sees: their own and the shared ones, of lists they may view (of one list
    when `changelist` is given), by name; each with `may_change` (`saved_view_may_change`, in SQL)."""
    lists = list(viewable) if changelist is None else [changelist] if changelist in viewable else []
    may_change = Q(owner=user) | Q(shared=True) if _manages_shared(user) else Q(owner=user)
    return (
        SavedView.objects.filter(Q(owner=user) | Q(shared=True), changelist__in=lists)
        .annotate(may_change=ExpressionWrapper(may_change, output_field=BooleanField()))
        .select_related("owner")
        .order_by("name", "id")
    )


def saved_view_may_change(*, user: User, view: SavedView) -> bool:
    """Its owner may rename, share, unshare or delete a view; a shared one also whoever keeps the team's
    shared views (team leads: `manage_shared_savedview`)."""
    return view.owner_id == user.pk or (view.shared and _manages_shared(user))


def _manages_shared(user: User) -> bool:
    return user.has_perm("media_sync.manage_shared_savedview")
