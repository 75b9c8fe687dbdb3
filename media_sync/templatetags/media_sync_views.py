"""`{% saved_views_panel %}` on every admin list (templates/admin/change_list.html) and
`{% saved_views_home %}` on the admin's home page: the saved views this person sees, one click each."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from media_sync.admin.saved_views import SAVE_PERMISSION, signed_in, viewable_lists
from media_sync.models import SavedView
from media_sync.services.refusals import InputRefused
from media_sync.services.saved_views import saved_view_query, saved_views_visible

register = template.Library()

# A sidebar is not a list: past this many, "all saved views" leads to the rest.
SHOWN = 25


def _current_query(query: str) -> str | None:
    try:
        return saved_view_query(query)
    except InputRefused:
        return None


@register.inclusion_tag("admin/media_sync/saved_views_panel.html", takes_context=True)
def saved_views_panel(context: template.Context) -> dict[str, Any]:
    request, changelist = context["request"], context["cl"]
    label = changelist.opts.label_lower
    if label == SavedView._meta.label_lower:
        return {"hidden": True}  # the saved views' own list is where they are renamed, not one to save
    visible = saved_views_visible(user=signed_in(request), viewable=viewable_lists(request), changelist=label)
    found = list(visible[: SHOWN + 1])
    query = request.GET.urlencode()
    current = _current_query(query)
    return {
        "views": [(view, view.url(), view.query == current) for view in found[:SHOWN]],
        "more": len(found) > SHOWN,
        "all_url": reverse("admin:media_sync_savedview_changelist") + f"?changelist={label}",
        "can_save": request.user.has_perm(SAVE_PERMISSION),
        "save_url": reverse("admin:media_sync_savedview_save"),
        "changelist": label,
        "query": query,
        "me": request.user.pk,
    }


@register.inclusion_tag("admin/media_sync/saved_views_home.html", takes_context=True)
def saved_views_home(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    if not request.user.has_perm("media_sync.view_savedview"):
        return {"views": []}
    found = list(saved_views_visible(user=signed_in(request), viewable=viewable_lists(request))[: SHOWN + 1])
    return {
        "views": [(view, view.url()) for view in found[:SHOWN]],
        "more": len(found) > SHOWN,
        "all_url": reverse("admin:media_sync_savedview_changelist"),
    }
