"""Open failures as a team lead and an operator meet them, in Chromium at 1366x768 with axe-core: the list
with its counts, a group's page, and acknowledging a group. Screenshots in var/screenshots/triage-*.png."""

from __future__ import annotations

from typing import Any

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import FailureGroup, GroupStatus, TriageEvent
from media_sync.services.run import job_run
from tests.browser.pages import CSP_LISTENER, HEIGHT, WIDTH, judge, shot, sign_in, user
from tests.media_sync.factories import rc_transfer


def log_in(browser: Any, live_app: Any, name: str) -> Any:
    """A 1366x768 page that records what the Content-Security-Policy blocks (judge reads it)."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.add_init_script(CSP_LISTENER)
    return sign_in(context.new_page(), live_app, name)


def failures(rc_sim: RecoveryConnectSimulator) -> FailureGroup:
    """Three photos to a destination RecoveryConnect does not have: three failed items, one group."""
    job = rc_transfer(rc_sim, [9100002, 9109999], photos=3, unknown=9109999)
    job_run(job_id=job.pk)
    return FailureGroup.objects.get()


def test_a_team_lead_acknowledges_a_group_from_open_failures(
    browser: Any, live_app: Any, rc_sim: RecoveryConnectSimulator
) -> None:
    group = failures(rc_sim)
    user("leo", "Team leads")
    page = log_in(browser, live_app, "leo")
    page.goto(f"{live_app.url}/admin/media_sync/auditevent/dashboard/")
    page.click("text=Open failures")
    page.wait_for_selector("#open-by-provider")
    assert "3" in page.inner_text("#open-by-provider tbody")
    problems = judge(page, "triage-open-failures-lead")
    shot(page, "triage-open-failures-lead.png")
    page.click(f"a[href$='/failuregroup/{group.pk}/change/']")
    page.wait_for_selector("#triage-form")
    problems += judge(page, "triage-group-lead")
    shot(page, "triage-group-lead.png")
    page.select_option("#id_action", "acknowledge")
    page.fill("#id_note", "Looking at it with RecoveryConnect")
    page.click("input[name=apply]")
    page.wait_for_selector("text=Acknowledge: done for the group.")
    assert page.inner_text("#group-status").startswith("Acknowledged")
    assert "Looking at it with RecoveryConnect" in page.inner_text("#triage-events")
    shot(page, "triage-group-acknowledged-lead.png")
    # The photo's timeline shows it above the audit rows.
    page.click("#group-items a[title^='Timeline of']")
    page.wait_for_selector("#triage-timeline")
    assert "Acknowledged" in page.inner_text("#triage-timeline")
    problems += judge(page, "triage-timeline-lead")
    shot(page, "triage-timeline-lead.png")
    group.refresh_from_db()
    assert group.status == GroupStatus.ACKNOWLEDGED
    assert TriageEvent.objects.get().actor == "leo"
    assert problems == []


def test_an_operator_sees_the_actions_an_operator_may_take(
    browser: Any, live_app: Any, rc_sim: RecoveryConnectSimulator
) -> None:
    group = failures(rc_sim)
    user("olga", "Operators")
    page = log_in(browser, live_app, "olga")
    page.goto(f"{live_app.url}/admin/media_sync/failuregroup/")
    problems = judge(page, "triage-open-failures-operator")
    shot(page, "triage-open-failures-operator.png")
    page.goto(f"{live_app.url}/admin/media_sync/failuregroup/{group.pk}/change/")
    actions = page.locator("#id_action option").all_inner_texts()
    assert actions == ["Acknowledge", "Add a note"]
    assert page.locator("input[type=submit][value^='Retry its 3 failed items']").count() == 1
    problems += judge(page, "triage-group-operator")
    shot(page, "triage-group-operator.png")
    assert problems == []
