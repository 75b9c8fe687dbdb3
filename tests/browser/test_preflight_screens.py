"""The transfer confirmation page in Chromium at 1366x768: a photo this app already transferred to the
destination is flagged with when and by whom, and starts unticked; confirming sends only the rest."""

from __future__ import annotations

from typing import Any

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import RecoveryConnectPhoto, TransferJob
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from tests.browser.pages import log_in, shot, transfer_order_photos, user
from tests.media_sync.factories import order_on_both_sides


def test_a_photo_already_transferred_starts_unticked_with_its_note(
    browser: Any, live_app: Any, rc_sim: RecoveryConnectSimulator
) -> None:
    order_on_both_sides(rc_sim, 57076503, 9100001, [180461378, 180461379, 180461380])
    rc_sim.add_order(57076502, 9100002)
    done = RecoveryConnectPhoto.objects.select_related("order").get(photo_id=180461378)
    before = rc_transfer_photos_start(
        photos=[done], destinations=[9100002], triggered_by="ann", enqueue=False
    )
    job_run(job_id=before.pk)
    user("olga", "Operators")

    page = log_in(browser, live_app, "olga")
    transfer_order_photos(page, live_app, "9100002")

    flagged = page.locator(f"#include-{done.pk}")
    flagged.wait_for()
    assert not flagged.is_checked()
    others = RecoveryConnectPhoto.objects.exclude(pk=done.pk)
    assert all(page.locator(f"#include-{photo.pk}").is_checked() for photo in others)
    note = page.locator("table.preflight tr.preflight-warning .warning")
    assert note.count() == 1 and note.is_visible()
    assert note.inner_text().startswith("⚠ already transferred: to 9100002 on ")
    assert note.inner_text().endswith(f"by ann (job {before.pk})")
    assert page.locator("#id_destinations").input_value() == "9100002"
    shot(page, "transfer-preflight-history.png")

    page.click("input[type=submit].default")
    page.wait_for_selector("#job-status:has-text('Succeeded')", timeout=20_000)
    job = TransferJob.objects.latest("pk")
    assert sorted(job.items.values_list("item", flat=True)) == ["180461379", "180461380"]
