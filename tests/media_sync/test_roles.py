"""Every admin page, export and action endpoint against each kind of visitor: anonymous, staff with no
role, operator, team lead. What each may do is the table below; everything else is refused."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.media_sync.test_admin import login

pytestmark = pytest.mark.django_db

LISTS = [
    "recoveryconnectorder",
    "recoveryconnectphoto",
    "corrigoworkorder",
    "corrigoattachment",
    "webhookdelivery",
    "suproperty",
    "suphoto",
    "subatch",
    "transferjob",
    "auditevent",
]
# GET pages: 200 for these roles, 403 for staff with no role, the login page for anonymous visitors.
PAGES = {
    **{reverse(f"admin:media_sync_{name}_changelist"): {"Operators", "Team leads"} for name in LISTS},
    reverse("admin:media_sync_dashboard"): {"Operators", "Team leads"},
    reverse("admin:media_sync_auditevent_export"): {"Team leads"},
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
