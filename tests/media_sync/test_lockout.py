"""Repeated wrong passwords lock a username out from that address for a while, and the lockout is an
audit row team leads can filter on."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from media_sync.models import AuditEvent, AuditKind
from tests.media_sync.factories import role

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"


def attempt(client: Client, password: str, *, address: str = "10.0.0.5", username: str = "olga") -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def olga(settings: Any) -> User:
    settings.AXES_FAILURE_LIMIT = 3
    user = User.objects.create_user("olga", password="right-password-1", is_staff=True)
    user.groups.add(role("Operators"))
    return user


def test_the_right_password_after_too_many_wrong_ones_is_refused_and_the_lockout_audited(
    client: Client, olga: User
) -> None:
    for _ in range(2):
        assert attempt(client, "wrong").status_code == 200  # the form again, "enter a correct…"
    assert not AuditEvent.objects.filter(kind=AuditKind.LOCKOUT).exists()
    locked = attempt(client, "wrong")
    assert locked.status_code == 429
    assert "3 wrong passwords in a row for <strong>olga</strong>" in locked.text
    assert "refused for\n    15 minutes" in locked.text
    assert attempt(client, "right-password-1").status_code == 429  # the attacker found it: still refused
    assert "_auth_user_id" not in client.session
    row = AuditEvent.objects.get(kind=AuditKind.LOCKOUT)
    assert (row.subject, row.item, row.outcome, row.http_status) == ("user olga", "10.0.0.5", "failed", 429)
    assert "3 wrong passwords in a row for 'olga' from 10.0.0.5" in row.message
    assert "wrong" not in row.request_summary + row.response_summary  # no password is kept


def test_another_address_and_another_username_are_not_locked(client: Client, olga: User) -> None:
    for _ in range(3):
        attempt(client, "wrong")
    assert attempt(client, "right-password-1", address="10.0.0.6").status_code == 302  # olga, at her desk
    User.objects.create_user("leo", password="right-password-2", is_staff=True)
    assert attempt(Client(), "right-password-2", username="leo").status_code == 302


def test_a_right_password_resets_the_count(client: Client, olga: User) -> None:
    attempt(client, "wrong")
    attempt(client, "wrong")
    assert attempt(client, "right-password-1").status_code == 302
    client.logout()
    attempt(client, "wrong")
    attempt(client, "wrong")
    assert attempt(client, "right-password-1").status_code == 302


def test_behind_the_local_proxy_the_address_it_names_is_counted(client: Client, olga: User) -> None:
    for _ in range(3):
        client.post(
            LOGIN,
            {"username": "olga", "password": "wrong"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_REAL_IP="203.0.113.9",
        )
    assert AuditEvent.objects.get(kind=AuditKind.LOCKOUT).item == "203.0.113.9"
    # A client far away cannot pose as another address: its header is ignored.
    forged = client.post(
        LOGIN,
        {"username": "olga", "password": "right-password-1"},
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_REAL_IP="x",
    )
    assert forged.status_code == 302


def test_team_leads_filter_the_audit_on_lockouts(client: Client, olga: User) -> None:
    for _ in range(3):
        attempt(client, "wrong")
    lead = User.objects.create_user("leo", password="x-password-2", is_staff=True)
    lead.groups.add(role("Team leads"))
    viewer = Client()
    viewer.force_login(lead)
    page = viewer.get("/admin/media_sync/auditevent/", {"kind__exact": "lockout"})
    assert page.status_code == 200
    assert "Login locked out" in page.text and "user olga" in page.text
