"""The admin in a real browser (Debian's Chromium driven by Playwright) against the app on a live server:
an operator runs a transfer through the intermediate form and watches the job end; a team lead filters the
audit and exports it as CSV. Screenshots land in var/screenshots/ to be looked at."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from tests.browser.pages import log_in, shot, transfer_order_photos, user
from tests.media_sync.factories import order_on_both_sides


def test_operator_transfers_and_team_lead_exports_the_results(
    browser: Any, live_app: Any, rc_sim: RecoveryConnectSimulator
) -> None:
    order_on_both_sides(rc_sim, 57076503, 9100001, [180461378, 180461379, 180461380])
    rc_sim.add_order(57076502, 9100002)
    rc_sim.add_order(57076510, 9100010)
    user("olga", "Operators")
    user("leo", "Team leads")

    operator = log_in(browser, live_app, "olga")
    transfer_order_photos(operator, live_app, "9100002, 9100010")
    operator.wait_for_selector("#job-status:has-text('Succeeded')", timeout=20_000)
    assert operator.locator("#job-progress").inner_text() == "6 of 6"
    assert operator.locator("#job-items tbody tr").count() == 6
    shot(operator, "job-page.png")

    lead = log_in(browser, live_app, "leo")
    lead.click("text=Dashboard")
    lead.wait_for_selector("#chart-recoveryconnect")
    assert "6 items ended, 0 failed" in lead.locator("#chart-recoveryconnect h3").inner_text()
    shot(lead, "dashboard.png")
    lead.goto(f"{live_app.url}/admin/media_sync/auditevent/")
    lead.click("#changelist-filter a:has-text('Item result')")
    lead.wait_for_url("**kind__exact=item**")
    assert lead.locator("#result_list tbody tr").count() == 6
    shot(lead, "audit-list.png")
    with lead.expect_download() as download:
        lead.click("a.export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 6
    assert {row["provider_status"] for row in rows} == {"success"}
    assert {row["triggered_by"] for row in rows} == {"olga"}
