"""Saved views: any admin list's filters kept under a name, for oneself or shared with the team, one click
from that list's sidebar and from the home page; only the owner (and, for a shared view, a team lead)
renames or deletes it; a hostile target or query string is refused or neutralised."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from media_sync.models import AuditEvent, AuditKind, Outcome, SavedView
from media_sync.models.saved_views import QUERY_MAX_LENGTH
from media_sync.services.demo import demo_users_reset
from tests.media_sync.factories import login

pytestmark = pytest.mark.django_db

AUDIT = reverse("admin:media_sync_auditevent_changelist")
JOBS = reverse("admin:media_sync_transferjob_changelist")
SAVE = reverse("admin:media_sync_savedview_save")
VIEWS = reverse("admin:media_sync_savedview_changelist")


def save(
    client: Client, name: str, query: str, *, changelist: str = "media_sync.auditevent", **extra: Any
) -> Any:
    return client.post(SAVE, {"name": name, "changelist": changelist, "query": query, **extra})


def sidebar(client: Client, url: str) -> str:
    page = client.get(url).text
    return page.split('id="saved-views"')[1].split("</section>")[0]


@pytest.fixture
def audit_rows() -> None:
    for n, outcome in enumerate([Outcome.FAILED, Outcome.SUCCEEDED, Outcome.FAILED]):
        AuditEvent.objects.create(
            kind=AuditKind.ITEM, provider="recoveryconnect", operation="x", item=str(n), outcome=outcome
        )
    AuditEvent.objects.create(
        kind=AuditKind.ITEM, provider="corrigopro", operation="x", outcome=Outcome.FAILED
    )


def test_a_saved_view_reopens_the_filtered_list_from_the_sidebar(client: Client, audit_rows: None) -> None:
    login(client, "olga", "Operators")
    query = "outcome__exact=failed&provider__exact=recoveryconnect"
    filtered = client.get(f"{AUDIT}?{query}").context["cl"]
    assert 'id="save-view"' in client.get(f"{AUDIT}?{query}").text
    response = save(client, "RC failures", query)
    assert response.status_code == 302 and response["Location"] == f"{AUDIT}?{query}"
    view = SavedView.objects.get()
    assert (view.name, view.owner.username, view.shared, view.changelist, view.query) == (
        "RC failures",
        "olga",
        False,
        "media_sync.auditevent",
        query,
    )
    link = f'<a href="{AUDIT}?{query.replace("&", "&amp;")}"'
    assert link in sidebar(client, AUDIT)  # one click from the list's sidebar, whatever it shows now
    assert "RC failures" not in sidebar(client, JOBS)  # another list's sidebar holds that list's views
    assert link in client.get(reverse("admin:index")).text  # and from the home page
    reopened = client.get(view.url()).context["cl"]
    assert [e.pk for e in reopened.result_list] == [e.pk for e in filtered.result_list]
    assert len(reopened.result_list) == 2
    assert 'aria-current="page"' in sidebar(client, view.url())


def test_a_view_of_the_job_list_works_the_same(client: Client) -> None:
    login(client, "leo", "Team leads")
    response = save(client, "Failed jobs", "status__exact=failed", changelist="media_sync.transferjob")
    assert response["Location"] == f"{JOBS}?status__exact=failed"
    assert "Failed jobs" in sidebar(client, JOBS)


def test_a_private_view_is_its_owner_s_alone(client: Client) -> None:
    olga = login(client, "olga", "Operators")
    save(client, "Mine", "outcome__exact=failed")
    view = SavedView.objects.get()
    leo = Client()
    leo.force_login(login(Client(), "leo", "Team leads"))
    assert "Mine" not in sidebar(leo, AUDIT)
    assert "Mine" not in leo.get(VIEWS).text and "Mine" not in leo.get(reverse("admin:index")).text
    # Its own pages do not exist for anyone else, and a POST deletes nothing.
    assert leo.get(reverse("admin:media_sync_savedview_change", args=[view.pk])).status_code == 302
    leo.post(reverse("admin:media_sync_savedview_delete", args=[view.pk]), {"post": "yes"})
    leo.post(reverse("admin:media_sync_savedview_change", args=[view.pk]), {"name": "Taken"})
    assert SavedView.objects.get().name == "Mine"
    # Its owner renames and deletes it.
    client.post(reverse("admin:media_sync_savedview_change", args=[view.pk]), {"name": "Still mine"})
    assert SavedView.objects.get().name == "Still mine"
    client.post(reverse("admin:media_sync_savedview_delete", args=[view.pk]), {"post": "yes"})
    assert not SavedView.objects.filter(owner=olga).exists()


def test_a_shared_view_is_seen_by_the_team_and_kept_tidy_by_team_leads(client: Client) -> None:
    login(client, "olga", "Operators")
    save(client, "Team's failures", "outcome__exact=failed", shared="on")
    view = SavedView.objects.get()
    assert view.shared
    oscar, leo = Client(), Client()
    login(oscar, "oscar", "Operators")
    login(leo, "leo", "Team leads")
    for other in (oscar, leo):
        assert "Team&#x27;s failures" in sidebar(other, AUDIT) and "by olga" in sidebar(other, AUDIT)
        assert "Team&#x27;s failures" in other.get(reverse("admin:index")).text
    # Another operator opens it but may not change or delete it.
    change = reverse("admin:media_sync_savedview_change", args=[view.pk])
    delete = reverse("admin:media_sync_savedview_delete", args=[view.pk])
    assert oscar.get(change).status_code == 200
    assert oscar.post(change, {"name": "Oscar's now"}).status_code == 403
    assert oscar.post(delete, {"post": "yes"}).status_code == 403
    assert ">Rename or delete</a>" not in oscar.get(VIEWS).text
    assert (
        ">Rename or delete</a>" in leo.get(VIEWS).text and ">Rename or delete</a>" in client.get(VIEWS).text
    )
    # A team lead renames and deletes it.
    leo.post(change, {"name": "Failures", "shared": "on"})
    assert SavedView.objects.get().name == "Failures"
    leo.post(delete, {"post": "yes"})
    assert not SavedView.objects.exists()


def test_a_view_of_a_list_one_may_not_open_is_neither_saved_nor_shown(client: Client) -> None:
    root = User.objects.create_superuser("root", password="x")
    SavedView.objects.create(name="Staff accounts", owner=root, shared=True, changelist="auth.user")
    login(client, "olga", "Operators")
    assert "Staff accounts" not in client.get(reverse("admin:index")).text
    assert "Staff accounts" not in client.get(VIEWS).text
    for target in ("auth.user", "media_sync.nosuchmodel", "sessions.session", "//evil.example", "x"):
        response = save(client, "Sneaky", "", changelist=target)
        assert response.status_code == 302 and response["Location"] == reverse("admin:index"), target
    assert not SavedView.objects.filter(name="Sneaky").exists()


def test_a_hostile_query_string_is_kept_as_plain_parameters_and_never_leads_off_site(client: Client) -> None:
    login(client, "olga", "Operators")
    hostile = "?outcome__exact=failed&p=3&_popup=1&next=https://evil.example/\r\nSet-Cookie: x=1"
    response = save(client, "Odd", hostile, next="https://evil.example/")
    location = response["Location"]
    assert location.startswith(f"{AUDIT}?") and "\n" not in location and "\r" not in location
    assert (
        SavedView.objects.get().query
        == "outcome__exact=failed&next=https%3A%2F%2Fevil.example%2F%0D%0ASet-Cookie%3A+x%3D1"
    )
    assert client.get(location).status_code == 200  # the list sets aside what it cannot use


def test_a_saved_view_is_refused_without_a_name_or_with_too_long_a_query(client: Client) -> None:
    login(client, "olga", "Operators")
    assert save(client, "   ", "outcome__exact=failed")["Location"] == reverse("admin:index")
    assert save(client, "Long", "q=" + "x" * QUERY_MAX_LENGTH)["Location"] == reverse("admin:index")
    assert not SavedView.objects.exists()


def test_saving_needs_the_csrf_token_and_a_role(client: Client) -> None:
    guarded = Client(enforce_csrf_checks=True)
    login(guarded, "olga", "Operators")
    assert save(guarded, "No token", "outcome__exact=failed").status_code == 403
    login(client, "sam")  # staff with no role
    assert save(client, "No role", "outcome__exact=failed").status_code == 403
    assert 'id="saved-views"' not in client.get(AUDIT).text  # 403: no list, no sidebar
    assert not SavedView.objects.exists()


def test_team_lead_s_list_shows_the_save_form_with_the_current_query(client: Client) -> None:
    login(client, "leo", "Team leads")
    panel = sidebar(client, f"{AUDIT}?outcome__exact=failed")
    assert 'name="query" value="outcome__exact=failed"' in panel
    assert 'name="changelist" value="media_sync.auditevent"' in panel
    assert "csrfmiddlewaretoken" in panel


def test_the_demo_s_lead_shares_a_view_the_operator_sees(client: Client) -> None:
    demo_users_reset(password="a-long-demo-password")
    demo_users_reset(password="a-long-demo-password")  # the demo starts again: still one
    client.force_login(User.objects.get(username="operator"))
    panel = sidebar(client, AUDIT)
    assert "Failed item results" in panel and "shared by lead" in panel
    assert SavedView.objects.count() == 1
