"""Pictures in a real browser: after an order is mirrored, its photo list, its order page and a transfer's
job page show thumbnails that have loaded (made from the simulator's JPEGs, served by the permission-checked
view), and a click opens the larger preview. Screenshots in var/screenshots/ to be looked at."""

from __future__ import annotations

from typing import Any

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import RecoveryConnectOrder, RecoveryConnectPhoto, ThumbnailStatus
from media_sync.services.recoveryconnect import rc_refresh_start
from media_sync.services.run import job_run
from tests.browser.pages import log_in, shot, user

ALL_LOADED = """() => {
  const images = [...document.querySelectorAll('img.thumb')];
  return images.length > 0 && images.every(image => image.complete && image.naturalWidth > 0);
}"""


def loaded_thumbnails(page: Any) -> int:
    # Thumbnails load lazily: bring each into view, then wait until every one has decoded.
    for image in page.locator("img.thumb").all():
        image.scroll_into_view_if_needed()
    page.wait_for_function(ALL_LOADED, timeout=10_000)
    return int(page.locator("img.thumb").count())


def test_photo_list_and_order_page_show_loaded_thumbnails(
    browser: Any, live_app: Any, rc_sim: RecoveryConnectSimulator
) -> None:
    rc_sim.seed_demo()
    rc_sim.broken_photos = {rc_sim.orders[57076503].photos[3].id: "missing"}
    # Mirrored as the worker does it; the thumbnail task it queues runs here, in-process, on commit.
    job_run(job_id=rc_refresh_start(order_ids=[57076503], triggered_by="olga", enqueue=False).pk)
    assert list(
        RecoveryConnectPhoto.objects.values_list("thumbnail_status", flat=True).order_by("photo_id")
    ) == [
        ThumbnailStatus.READY,
        ThumbnailStatus.READY,
        ThumbnailStatus.READY,
        ThumbnailStatus.FAILED,
    ]
    user("olga", "Operators")
    page = log_in(browser, live_app, "olga")

    page.goto(f"{live_app.url}/admin/media_sync/recoveryconnectphoto/?order__order_id=57076503")
    assert loaded_thumbnails(page) == 3
    assert page.locator("img.thumb").first.get_attribute("alt", timeout=1000).startswith("Photo ")
    assert page.get_by_role("img", name="no picture: HTTP 404").count() == 1
    shot(page, "rc-photo-list.png")

    order = RecoveryConnectOrder.objects.get(order_id=57076503)
    page.goto(f"{live_app.url}/admin/media_sync/recoveryconnectorder/{order.pk}/change/")
    assert loaded_thumbnails(page) == 3
    shot(page, "rc-order-page.png")

    page.locator("a.thumb-link").first.click()
    page.wait_for_load_state()
    size = page.evaluate("() => [document.images[0].naturalWidth, document.images[0].naturalHeight]")
    assert size == [1024, 768]
    shot(page, "rc-photo-preview.png")
