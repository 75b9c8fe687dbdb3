"""A running job's page and a waiting Booking.com batch's page in Chromium: each follows its work without
reloading (a variable set in the page survives), redraws the changed rows, tells a screen reader, and stops
asking once the work has ended."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.suapi.simulator import SuApiSimulator
from media_sync.models import ItemStatus, TransferItem
from media_sync.services.run import job_run
from media_sync.services.suapi_polls import su_poll_now
from tests.browser.pages import CSP_LISTENER, judge, log_in, shot, user
from tests.media_sync.factories import rc_transfer, su_waiting_batch


def test_job_page_follows_the_job_without_reloading_and_stops_when_it_ends(
    browser: Any, live_app: Any, rc_sim: RecoveryConnectSimulator
) -> None:
    job = rc_transfer(rc_sim, [9100002])
    user("olga", "Operators")
    page = log_in(browser, live_app, "olga")
    page.context.add_init_script(CSP_LISTENER)  # judge() fails on anything the policy blocks
    polls: list[str] = []
    page.on("request", lambda request: polls.extend([request.url] if "/progress/" in request.url else []))
    page.goto(f"{live_app.url}/admin/media_sync/transferjob/{job.pk}/change/")
    assert page.locator("#job-progress").inner_text() == "0 of 3"
    page.evaluate("window.loadedOnce = 'still here'")
    shot(page, "live-job-pending.png")
    assert judge(page, "olga-live-job-running") == []  # axe on the page as it runs, bar and live region in

    first = job.items.order_by("id").first()
    assert first is not None
    TransferItem.objects.filter(pk=first.pk).update(
        status=ItemStatus.IN_PROGRESS, attempts=1, updated_at=timezone.now()
    )
    page.wait_for_selector(f"#item-{first.pk} .item-status-in_progress", timeout=10_000)
    assert page.locator("#count-in_progress").inner_text() == "In progress 1"
    assert page.locator("#job-status").inner_text() == "Pending"

    TransferItem.objects.filter(pk=first.pk).update(status=ItemStatus.PENDING, attempts=0)
    job_run(job_id=job.pk)  # the worker's own code, against the simulator over HTTP
    page.wait_for_selector("#job-status:has-text('Succeeded')", timeout=10_000)
    assert page.locator("#job-progress").inner_text() == "3 of 3"
    assert page.locator("#job-items .item-status-succeeded").count() == 3
    bar = page.locator("[role=progressbar]")
    assert bar.get_attribute("aria-valuenow") == "100" and bar.get_attribute("aria-label") == "Items done"
    assert page.locator("[aria-live=polite]").inner_text() == "Job ended: Succeeded. 3 of 3 items done."
    assert page.evaluate("window.loadedOnce") == "still here"  # the same page: never reloaded
    assert page.evaluate("window.mediaSyncProgress.stopped") is True
    asked = len(polls)
    page.wait_for_timeout(5_000)
    assert len(polls) == asked >= 2  # it asked while the job ran, and not once after it ended
    shot(page, "live-job-ended.png")

    page.reload()  # an ended job's page does not poll at all
    page.wait_for_timeout(3_000)
    assert len(polls) == asked and page.evaluate("window.mediaSyncProgress") is None


def test_batch_page_follows_booking_until_it_ends_the_batch(
    browser: Any, live_app: Any, su_sim: SuApiSimulator, settings: Any
) -> None:
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = live_app.url  # Booking.com fetches each photo from us
    batch = su_waiting_batch(su_sim)
    user("olga", "Operators")
    page = log_in(browser, live_app, "olga")
    page.context.add_init_script(CSP_LISTENER)  # judge() fails on anything the policy blocks
    page.goto(f"{live_app.url}/admin/media_sync/subatch/{batch.pk}/change/")
    assert page.locator("#batch-counts").inner_text() == "2 new"
    page.evaluate("window.loadedOnce = 'still here'")
    assert judge(page, "olga-live-batch-waiting") == []

    su_sim.clock.advance(10)
    su_poll_now(batch=batch)  # what the schedule does once the poll is due
    page.wait_for_selector("#batch-status:has-text('Finished')", timeout=10_000)
    assert page.locator("#batch-counts").inner_text() == "1 ok, 1 duplicate"
    assert page.locator("#batch-photos .item-status-succeeded").count() == 1
    assert page.locator("#batch-photos tbody tr:has-text('Delete from Booking.com')").count() == 1
    assert page.locator("[role=progressbar]").get_attribute("aria-valuenow") == "100"
    assert page.locator("[aria-live=polite]").inner_text().startswith("Batch ended: Finished.")
    assert page.evaluate("window.loadedOnce") == "still here"
    assert page.evaluate("window.mediaSyncProgress.stopped") is True
    assert page.locator("input[value='Refresh status now']").is_hidden()
    page.wait_for_timeout(500)  # the bar's width transition
    shot(page, "live-batch-ended.png")
