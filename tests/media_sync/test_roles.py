"""Every admin page, export and action endpoint against each kind of visitor: anonymous, staff with no
role, operator, team lead (and a superuser, whose answers show each page works at all). What each may do
is the tables in tests/media_sync/access.py; everything else is refused.

The tables are complete by construction: `test_every_url_the_project_exposes_is_in_the_table` walks the
URLconf and `test_every_admin_action_is_in_the_table` asks every ModelAdmin for its actions, so a new page,
endpoint or action fails the suite until someone decides who may use it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver, reverse

from tests.media_sync.access import (
    ACTIONS,
    ANON,
    LOGIN,
    ROLES,
    ROUTES,
    VISITORS,
    Action,
    Answer,
    Visitor,
    World,
    concrete,
    post_changes,
    visitor_clients,
)
from tests.media_sync.factories import login

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db

LISTS = [
    "recoveryconnectorder",
    "recoveryconnectphoto",
    "recoveryconnectdocument",
    "corrigoworkorder",
    "corrigoattachment",
    "webhookdelivery",
    "suproperty",
    "suphoto",
    "subatch",
    "transferjob",
    "auditevent",
    "savedview",
]
# GET pages: 200 for these roles, 403 for staff with no role, the login page for anonymous visitors.
PAGES = {
    **{reverse(f"admin:media_sync_{name}_changelist"): {"Operators", "Team leads"} for name in LISTS},
    reverse("admin:media_sync_dashboard"): {"Operators", "Team leads"},
    reverse("admin:media_sync_auditevent_export"): {"Team leads"},
    reverse("admin:media_sync_auditevent_export") + "?manifest=1": {"Team leads"},
    reverse("admin:media_sync_auditevent_summary"): {"Team leads"},
    reverse("admin:media_sync_recoveryconnectorder_add"): {"Operators"},
    reverse("admin:media_sync_corrigoworkorder_add"): {"Operators"},
    reverse("admin:media_sync_suproperty_add"): {"Operators"},
    reverse("admin:media_sync_suphoto_add"): {"Operators"},
    reverse("admin:media_sync_auditevent_add"): set(),
    reverse("admin:media_sync_transferjob_add"): set(),
}


@pytest.mark.parametrize("url", list(PAGES))
@pytest.mark.parametrize("role", [None, "", "Operators", "Team leads"])
def test_each_page_answers_each_role_as_the_table_says(client: Client, url: str, role: str | None) -> None:
    if role is None:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
        return
    login(client, "someone", role or None)
    expected = 200 if role in PAGES[url] else 403
    assert client.get(url).status_code == expected


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The default hasher costs a second per user: five visitors per test would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def visitors() -> dict[Visitor, Client]:
    return visitor_clients()


def answer(response: Response) -> Answer:
    if response.status_code == 302 and response["Location"].startswith(reverse("admin:login")):
        return LOGIN
    return response.status_code


# --- Every URL: who may open it, and whose POST changes anything -----------------------------------------


def exposed_routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from exposed_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def test_every_url_the_project_exposes_is_in_the_table() -> None:
    exposed = list(exposed_routes(get_resolver().url_patterns))
    assert len(exposed) == len(set(exposed))
    assert sorted(set(exposed) - set(ROUTES)) == [], "a URL nobody has decided about: add it to ROUTES"
    assert sorted(set(ROUTES) - set(exposed)) == [], "ROUTES names a URL that no longer exists"


@pytest.mark.parametrize("route", list(ROUTES))
def test_each_url_answers_and_changes_things_only_as_the_table_says(
    world: World, visitors: dict[Visitor, Client], route: str
) -> None:
    spec, url = ROUTES[route], concrete(route, world)
    opened = tuple(answer(visitors[visitor].get(url)) for visitor in VISITORS)
    assert opened == spec.get

    posted = {visitor: post_changes(visitors[visitor], url, spec.payload(world)) for visitor in VISITORS}
    assert {visitor for visitor, (_, changed) in posted.items() if changed} == spec.writers
    if route.startswith("admin/") and route not in ("admin/login/", "admin/logout/"):
        assert answer(posted[ANON][0]) == LOGIN
    if spec.writers & set(ROLES):
        # Where some role may change things, the others are refused outright, not shown an error form.
        refused = {role: posted[role][0].status_code for role in ROLES if role not in spec.writers}
        assert refused == dict.fromkeys(refused, 403)


# --- Every admin action: who may run it ----------------------------------------------------------------


def registered_actions() -> set[tuple[str, str]]:
    request = RequestFactory().post("/admin/")
    request.user = User(username="root", is_superuser=True, is_staff=True, is_active=True)
    return {
        (f"{model._meta.app_label}/{model._meta.model_name}", name)
        for model, model_admin in admin.site._registry.items()
        for name in model_admin.get_actions(request)
    }


def test_every_admin_action_is_in_the_table() -> None:
    assert registered_actions() == set(ACTIONS)


def asks_first(response: Response) -> bool:
    """The action's own page: our intermediate form, or the admin's delete confirmation."""
    return response.status_code == 200 and any(
        marker in response.text for marker in ('name="apply"', 'name="post" value="yes"')
    )


def run_action(client: Client, key: str, name: str, action: Action, world: World) -> str:
    """What happened when this client ran the action on the world's object: login (anonymous), refused
    (403, or the action is not on offer: nothing changed, no form), asks (a form first, the confirmed
    form does it), done (the first POST does it), or what else came."""
    url = reverse(f"admin:{key.replace('/', '_')}_changelist")
    chosen = {"action": name, "_selected_action": [str(world.objects[key].pk)]}
    first, first_changed = post_changes(client, url, chosen)
    second, second_changed = (
        post_changes(client, url, {**chosen, **action.confirm(world)}) if action.confirm else (first, False)
    )
    steps = (first.status_code, first_changed, second.status_code, second_changed)
    if answer(first) == answer(second) == LOGIN and not (first_changed or second_changed):
        return "login"
    if not (asks_first(first) or first_changed or second_changed):
        return "refused"
    if action.confirm and asks_first(first) and not first_changed and second_changed:
        return "asks"
    if not action.confirm and first_changed:
        return "done"
    return f"unexpected {steps}"


@pytest.mark.parametrize(("key", "name"), list(ACTIONS))
def test_each_action_runs_only_for_who_may_run_it_and_changes_nothing_otherwise(
    world: World, visitors: dict[Visitor, Client], key: str, name: str
) -> None:
    action = ACTIONS[(key, name)]
    ran = {visitor: run_action(visitors[visitor], key, name, action, world) for visitor in VISITORS}
    allowed = "asks" if action.confirm else "done"
    expected = {
        visitor: LOGIN if visitor is ANON else allowed if visitor in action.runners else "refused"
        for visitor in VISITORS
    }
    assert ran == expected
    changelist = reverse(f"admin:{key.replace('/', '_')}_changelist")
    for visitor_role in ROLES:
        listing = visitors[visitor_role].get(changelist)
        offered = listing.status_code == 200 and f'<option value="{name}"' in listing.text
        assert offered == (visitor_role in action.runners), visitor_role
