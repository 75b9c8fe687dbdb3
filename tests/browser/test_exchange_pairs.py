"""The audit list's request and answer rows, in Chromium at 1366x768: each answer shows its request, the
paired view one line an exchange, the unanswered view the cut-off call; no serious WCAG violation, nothing
wider than the screen (judge).
Screenshots in var/screenshots/audit-exchanges-*.png to be looked at."""

from __future__ import annotations

from typing import Any

from tests.browser.pages import CSP_LISTENER, HEIGHT, WIDTH, judge, sign_in, user
from tests.media_sync.factories import exchanges


def test_requests_and_their_answers_read_as_one_line_each(browser: Any, live_app: Any) -> None:
    exchanges(12)
    exchanges(1, answered=False)
    user("leo", "Team leads")
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.add_init_script(CSP_LISTENER)
    page = sign_in(context.new_page(), live_app, "leo")
    problems = []
    for view, lines in (("paired", 13), ("unanswered", 1)):
        page.goto(f"{live_app.url}/admin/media_sync/auditevent/?exchanges={view}")
        assert page.locator("#result_list tbody tr").count() == lines
        problems += judge(page, f"audit-exchanges-{view}")
    page.goto(f"{live_app.url}/admin/media_sync/auditevent/?exchanges=paired")
    page.locator("#result_list a:has-text('request #')").first.click()
    page.wait_for_selector("text=about to send PUT")
    problems += judge(page, "audit-exchanges-request-row")
    context.close()
    assert problems == []
