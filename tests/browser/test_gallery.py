"""The Booking.com gallery on a property page in a real browser: thumbnails loaded (ours, and the ones made
from Booking.com's preview), no axe or Content-Security-Policy problem, and Down reorders the gallery at
Booking.com with no JavaScript. Screenshots in var/screenshots/ to be looked at."""

from __future__ import annotations

from typing import Any

from integrations.suapi.simulator import DEMO_PHOTO_ID, SuApiSimulator
from media_sync.models import SuProperty
from media_sync.services.run import job_run
from media_sync.services.suapi_gallery import su_gallery_sync_start
from tests.browser.pages import CSP_LISTENER, HEIGHT, WIDTH, judge, shot, sign_in, user

ALL_LOADED = """() => {
  const images = [...document.querySelectorAll('#gallery img.thumb')];
  return images.length > 0 && images.every(image => image.complete && image.naturalWidth > 0);
}"""


def test_the_gallery_page_shows_loaded_thumbnails_and_down_reorders_it(
    browser: Any, live_app: Any, su_sim: SuApiSimulator
) -> None:
    su_sim.seed_demo()
    su_sim.add_outside_photo("NT7", seed=71, tags=[13, 73], photo_id="OUT-1")
    su_sim.add_outside_photo("NT7", seed=72, photo_id="OUT-2")
    hotel = SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615", name="Demo hotel")
    job_run(job_id=su_gallery_sync_start(property=hotel, triggered_by="olga", enqueue=False).pk)
    user("olga", "Operators")
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.add_init_script(CSP_LISTENER)
    page = sign_in(context.new_page(), live_app, "olga")
    page.goto(f"{live_app.url}/admin/media_sync/suproperty/{hotel.pk}/change/")
    for image in page.locator("#gallery img.thumb").all():
        image.scroll_into_view_if_needed()
    page.wait_for_function(ALL_LOADED, timeout=10_000)
    assert page.locator("#gallery img.thumb").count() == 3
    assert judge(page, "olga-suproperty-gallery") == []
    with page.expect_navigation():
        page.get_by_role("button", name=f"Move photo {DEMO_PHOTO_ID} down").click()
    assert "/transferjob/" in page.url  # the order went as a job; it ran on commit, in-process
    assert [photo.photo_id for photo in su_sim.properties["NT7"].photos] == ["OUT-1", DEMO_PHOTO_ID, "OUT-2"]
    page.goto(f"{live_app.url}/admin/media_sync/suproperty/{hotel.pk}/change/")
    first = page.locator("#gallery tbody tr").first
    assert "OUT-1" in first.inner_text() and "Main photo" in first.inner_text()
    shot(page, "su-gallery.png")
    context.close()
