"""Saved views as a team lead and an operator meet them, in Chromium at 1366x768: filter the audit, save
the view (shared), open it again from the list's sidebar and from the home page; axe-core finds nothing
serious. And the counts across retries on the job page and the dashboard. Screenshots in
var/screenshots/saved-views-*.png and counts-*.png to be looked at."""

from __future__ import annotations

from typing import Any

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults
from media_sync.models import AuditEvent, AuditKind, Outcome, SavedView
from media_sync.services.jobs import job_retry_failed
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from tests.browser.pages import judge, shot, user
from tests.media_sync.factories import order_on_both_sides


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


def test_job_page_and_dashboard_count_a_retried_item_once(
    screen: Any, live_app: Any, rc_sim: RecoveryConnectSimulator
) -> None:
    """The retried job of tests/media_sync/test_counts.py as a team lead sees it: one success with its
    three attempts, one failure, and the dashboard's two items."""
    source = order_on_both_sides(rc_sim, 57076503, 9100001, [180461378, 180461380], locked=(180461380,))
    order_on_both_sides(rc_sim, 57076502, 9100002, [])
    job = rc_transfer_photos_start(
        photos=list(source.photos.all()), destinations=[9100002], triggered_by="olga", enqueue=False
    )
    rc_sim.faults = Faults(error_rate=1.0)
    job_run(job_id=job.pk)
    job_retry_failed(job=job, enqueue=False)
    job_run(job_id=job.pk)
    rc_sim.faults = Faults()
    job_retry_failed(job=job, enqueue=False)
    job_run(job_id=job.pk)
    user("leo", "Team leads")

    lead = screen("leo")
    lead.goto(f"{live_app.url}/admin/media_sync/transferjob/{job.pk}/change/")
    assert lead.locator("#job-progress").inner_text() == "2 of 2"
    assert lead.locator(".item-attempts a").all_inner_texts() == ["3 attempts", "3 attempts"]
    problems = judge(lead, "counts-job-page-lead")
    shot(lead, "counts-job-page-lead.png")
    lead.click(".item-succeeded .item-attempts a")
    lead.wait_for_url("**kind__exact=item**")
    assert lead.locator("#result_list tbody tr").count() == 3
    lead.goto(f"{live_app.url}/admin/media_sync/auditevent/dashboard/")
    assert "2 items ended, 1 failed in the end" in lead.locator("#chart-recoveryconnect h3").inner_text()
    problems += judge(lead, "counts-dashboard-lead")
    shot(lead, "counts-dashboard-lead.png")
    assert problems == []
