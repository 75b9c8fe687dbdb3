"""The audit as a team lead meets it, in Chromium at 1366x768: the list and a record's timeline fit the
screen with the outcome and the message in view, and a row's request and response wrap. Screenshots in
var/screenshots/audit-*.png to be looked at."""

from __future__ import annotations

import json
from typing import Any

from media_sync.models import AuditEvent, AuditKind, Outcome, TransferJob
from tests.browser import SCREENSHOTS
from tests.browser.pages import WIDTH, log_in, user

LONG = (
    "RecoveryConnect answered fail: the destination order 9100002 is closed, so photo 180461378 was not "
    "transferred; reopen the order at RecoveryConnect or pick another destination"
)


def audit_rows() -> AuditEvent:
    """A day's mix as it comes: exchanges with long bodies, a job about many work orders, refusals."""
    many = TransferJob.objects.create(
        provider="corrigopro",
        operation="cp_sync",
        subject=", ".join(f"work order {4100001 + n}" for n in range(6)),
        triggered_by="olga",
    )
    body = json.dumps({"photoIds": list(range(180461378, 180461448)), "token": "[redacted]"})
    exchange = None
    for n in range(30):
        exchange = AuditEvent.objects.create(
            kind=AuditKind.HTTP,
            provider="recoveryconnect",
            operation="transfer_photo",
            subject="order 57076503",
            item=str(180461378 + n),
            destination="9100002",
            outcome=Outcome.FAILED if n % 3 == 0 else Outcome.SUCCEEDED,
            provider_status="fail" if n % 3 == 0 else "success",
            http_status=200,
            message=LONG if n % 3 == 0 else "",
            triggered_by="olga.operator.with-a-long-name",
            request_summary=body,
            response_summary=json.dumps({"status": "fail", "message": LONG}),
            duration_ms=120,
        )
        AuditEvent.objects.create(
            kind=AuditKind.ITEM,
            provider="corrigopro",
            operation="cp_sync",
            job=many,
            subject=many.subject,
            item=str(4100001 + n % 6),
            outcome=Outcome.SUCCEEDED,
            message="12 attachments mirrored",
            triggered_by="olga",
        )
    AuditEvent.objects.create(
        kind=AuditKind.ITEM,
        provider="suapi",
        operation="su_create_batch",
        subject="property NT7",
        item="1. pool-and-terrace-at-dusk.jpg (3840x2160)",
        destination="NT7",
        outcome=Outcome.PENDING,
        message="in batch mNrxMVc_R3j; waiting for Booking.com",
        triggered_by="olga",
    )
    AuditEvent.objects.create(
        kind=AuditKind.WEBHOOK,
        provider="corrigopro",
        operation="webhook_AttachmentAdded",
        subject="work order 4100001",
        item="62a95fec-b01a-46cf-a8cb-0f60ec7f9b29",
        outcome=Outcome.SUCCEEDED,
        message="attachment 62a95fec-b01a-46cf-a8cb-0f60ec7f9b29 added by the customer",
        triggered_by="corrigopro webhook",
    )
    # A request row: its message holds the path, one long word (the SU API's longest).
    AuditEvent.objects.create(
        kind=AuditKind.REQUEST,
        provider="suapi",
        operation="retrieveAssociateImages",
        subject="property NT7",
        item="gallery of NT7",
        destination="NT7",
        outcome=Outcome.PENDING,
        message="about to send POST /SUAPI/jservice/bdc/photo/retrieveAssociateImages",
        triggered_by="olga",
    )
    assert exchange is not None
    return exchange


def fits(page: Any) -> None:
    """No sideways scrolling, of the page or of the table inside it, and the columns read first in view."""
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    table = page.locator("#result_list")
    assert table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
    for column in ("outcome", "message"):
        header = page.locator(f"#result_list thead th:has-text('{column}')").first
        box = header.bounding_box()
        assert box is not None and box["x"] + box["width"] <= WIDTH, column


def test_the_audit_list_a_timeline_and_a_row_fit_1366_pixels(browser: Any, live_app: Any) -> None:
    exchange = audit_rows()
    user("leo", "Team leads")
    page = log_in(browser, live_app, "leo")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_app.url}/admin/media_sync/auditevent/")
    fits(page)
    assert page.locator("#result_list a:has-text('6 work orders')").count() == 30
    assert page.locator("#result_list .outcome-failed").first.is_visible()
    page.screenshot(path=str(SCREENSHOTS / "audit-list.png"))

    page.locator("#result_list a:has-text('order 57076503')").first.click()
    page.wait_for_selector("h1:has-text('Timeline of order 57076503')")
    fits(page)
    assert page.locator("#result_list tbody tr").count() == 30
    page.screenshot(path=str(SCREENSHOTS / "audit-timeline.png"))

    page.goto(f"{live_app.url}/admin/media_sync/auditevent/{exchange.pk}/change/")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert page.locator("pre.exchange").count() == 2
    page.screenshot(path=str(SCREENSHOTS / "audit-row.png"), full_page=True)
