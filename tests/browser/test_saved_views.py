"""Saved views as a team lead and an operator meet them, in Chromium at 1366x768: filter the audit, save
the view (shared), open it again from the list's sidebar and from the home page; axe-core finds nothing
serious. Screenshots in var/screenshots/saved-views-*.png to be looked at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from media_sync.models import AuditEvent, AuditKind, Outcome, SavedView
from tests.browser.pages import CSP_LISTENER, HEIGHT, WIDTH, judge, shot, sign_in, user


@pytest.fixture
def screen(browser: Any, live_app: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_as(name: str) -> Any:
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        context.add_init_script(CSP_LISTENER)
        contexts.append(context)
        return sign_in(context.new_page(), live_app, name)

    yield open_as
    for context in contexts:
        context.close()


def audit_rows() -> None:
    for n in range(6):
        AuditEvent.objects.create(
            kind=AuditKind.ITEM,
            provider="recoveryconnect" if n % 2 else "corrigopro",
            operation="rc_transfer_photos",
            subject="order 57076503",
            item=str(180461378 + n),
            destination="9100002",
            outcome=Outcome.FAILED if n < 3 else Outcome.SUCCEEDED,
            message="RecoveryConnect answered fail" if n < 3 else "",
            triggered_by="olga",
        )


def test_team_lead_saves_a_filtered_audit_view_and_opens_it_from_the_sidebar(
    screen: Any, live_app: Any
) -> None:
    audit_rows()
    user("leo", "Team leads")
    user("olga", "Operators")
    audit = f"{live_app.url}/admin/media_sync/auditevent/"

    lead = screen("leo")
    lead.goto(audit)
    lead.click("#changelist-filter a:has-text('Failed')")
    lead.wait_for_url("**outcome__exact=failed**")
    assert lead.locator("#result_list tbody tr").count() == 3
    lead.fill("#save-view-name", "Failed transfers")
    lead.check("#save-view-shared")
    shot(lead, "saved-views-save-lead.png")
    lead.click("#save-view-button")
    lead.wait_for_selector("#saved-views a:has-text('Failed transfers')")
    view = SavedView.objects.get()
    assert (view.owner.username, view.shared, view.query) == ("leo", True, "outcome__exact=failed")

    lead.goto(audit)  # unfiltered: six rows
    assert lead.locator("#result_list tbody tr").count() == 6
    lead.click("#saved-views a:has-text('Failed transfers')")
    lead.wait_for_url("**outcome__exact=failed**")
    assert lead.locator("#result_list tbody tr").count() == 3
    assert lead.locator("#saved-views a[aria-current=page]").inner_text() == "Failed transfers"
    problems = judge(lead, "saved-views-audit-lead")
    shot(lead, "saved-views-sidebar-lead.png")

    # The operator sees the shared view, opens it from the home page, and may not rename it.
    operator = screen("olga")
    operator.click("#saved-views-home a:has-text('Failed transfers')")
    operator.wait_for_url("**outcome__exact=failed**")
    assert operator.locator("#result_list tbody tr").count() == 3
    assert "shared by leo" in operator.locator("#saved-views").inner_text()
    problems += judge(operator, "saved-views-audit-operator")
    shot(operator, "saved-views-sidebar-operator.png")
    operator.goto(f"{live_app.url}/admin/")
    problems += judge(operator, "saved-views-home-operator")
    operator.goto(f"{live_app.url}/admin/media_sync/savedview/")
    problems += judge(operator, "saved-views-list-operator")
    operator.goto(f"{live_app.url}/admin/media_sync/transferjob/")
    problems += judge(operator, "saved-views-jobs-operator")
    assert problems == []
