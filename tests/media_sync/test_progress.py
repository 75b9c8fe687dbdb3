"""Live progress: the JSON the job and batch pages poll instead of reloading, and the pages around it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.suapi.simulator import SuApiSimulator
from media_sync.admin.progress import OVERLAP, ROW_LIMIT
from media_sync.models import (
    BatchStatus,
    ItemStatus,
    JobStatus,
    TransferItem,
    TransferJob,
)
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from media_sync.services.suapi_polls import su_poll_now
from tests.media_sync.factories import login, order_on_both_sides, rc_transfer, su_waiting_batch

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def progress_url(job: TransferJob) -> str:
    return reverse("admin:media_sync_transferjob_progress", args=[job.pk])


def page_url(job: TransferJob) -> str:
    return reverse("admin:media_sync_transferjob_change", args=[job.pk])


def test_a_running_job_page_polls_its_endpoint_instead_of_reloading(
    operator: Client, rc_sim: RecoveryConnectSimulator
) -> None:
    job = rc_transfer(rc_sim, [9100002])
    page = operator.get(page_url(job)).text
    assert "http-equiv" not in page
    assert f'data-progress-url="{progress_url(job)}"' in page
    assert "media_sync/progress.js" in page
    assert 'role="progressbar" aria-label="Items done"' in page
    # The live region starts with the state as it is, so only changes are read out.
    assert 'aria-live="polite">Pending: 0 of 3 items done.</p>' in page
    assert page.count('<tr id="item-') == 3


def test_the_endpoint_reports_state_counts_and_only_the_rows_changed_since(
    operator: Client, rc_sim: RecoveryConnectSimulator
) -> None:
    job = rc_transfer(rc_sim, [9100002])
    page = operator.get(page_url(job)).text
    since = re.search(r'data-progress-since="([^"]+)"', page)
    assert since is not None
    first = operator.get(progress_url(job), {"since": since[1]}).json()
    assert (first["state"], first["ended"], first["total"], first["done"], first["percent"]) == (
        "pending",
        False,
        3,
        0,
        0,
    )
    assert first["counts"] == {"pending": 3, "in_progress": 0, "waiting": 0, "succeeded": 0, "failed": 0}
    assert first["text"]["job-progress"] == "0 of 3" and first["text"]["count-pending"] == "Pending 3"
    assert first["announce"] == "Pending: 0 of 3 items done."

    # Nothing has moved for a minute; then one item fails.
    a_minute_ago = timezone.now() - timedelta(minutes=1)
    job.items.update(updated_at=a_minute_ago)
    moved = job.items.first()
    assert moved is not None
    TransferItem.objects.filter(pk=moved.pk).update(
        status=ItemStatus.FAILED, message="closed order", updated_at=timezone.now()
    )
    cursor = (a_minute_ago + OVERLAP + timedelta(seconds=1)).isoformat()
    answer = operator.get(progress_url(job), {"since": cursor}).json()
    assert [row["id"] for row in answer["rows"]] == [moved.pk]
    assert answer["rows"][0]["status"] == "failed"
    assert answer["rows"][0]["html"].startswith(f'<tr id="item-{moved.pk}" class="item-failed">')
    assert "closed order" in answer["rows"][0]["html"]
    assert 'class="thumb' in answer["rows"][0]["html"]  # the photo's picture (or why none), as on the page
    assert answer["counts"]["failed"] == 1 and answer["done"] == 1 and answer["percent"] == 33
    assert answer["announce"] == "Pending: 1 of 3 items done, 1 failed."
    assert answer["cursor"] > cursor


def test_an_ended_job_says_so_and_its_page_does_not_poll(
    operator: Client, rc_sim: RecoveryConnectSimulator
) -> None:
    job = rc_transfer(rc_sim, [9100002, 9109999], unknown=9109999)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.PARTLY_FAILED

    answer = operator.get(progress_url(job)).json()
    assert answer["ended"] is True and answer["state"] == "partly_failed"
    assert answer["counts"]["succeeded"] == 3 and answer["counts"]["failed"] == 3
    assert answer["announce"] == "Job ended: Partly failed. 6 of 6 items done, 3 failed."
    assert answer["can_retry"] is True
    assert answer["text"]["job-retry-button"] == "Retry failed items (3)"
    assert "took" in answer["text"]["job-finished"]
    assert len(answer["rows"]) == 6  # no cursor: every row

    page = operator.get(page_url(job)).text
    assert "data-progress-url" not in page and "progress.js" not in page and "http-equiv" not in page
    assert "Retry failed items (3)" in page


def test_only_who_may_open_the_job_page_may_poll_it(client: Client, rc_sim: RecoveryConnectSimulator) -> None:
    job = rc_transfer(rc_sim, [9100002])
    anonymous = client.get(progress_url(job))
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    login(client, "sam")  # staff, no role
    assert client.get(progress_url(job)).status_code == 403
    login(client, "leo", "Team leads")
    lead = client.get(progress_url(job)).json()
    assert lead["state"] == "pending" and lead["can_retry"] is False
    assert client.post(progress_url(job)).status_code == 405


def test_a_missing_job_or_a_bad_cursor_is_a_clear_answer_not_a_500(
    operator: Client, rc_sim: RecoveryConnectSimulator
) -> None:
    job = rc_transfer(rc_sim, [9100002])
    missing = reverse("admin:media_sync_transferjob_progress", args=[job.pk + 1000])
    assert operator.get(missing).status_code == 404
    assert operator.get("/admin/media_sync/transferjob/abc/progress/").status_code == 404
    for bad in ("yesterday", "2026-12-01T10:00:00", "2026-13-45T99:00:00+00:00"):
        answer = operator.get(progress_url(job), {"since": bad})
        assert answer.status_code == 400 and "since" in answer.json()["error"], bad


def queries_for(client: Client, url: str) -> tuple[int, int]:
    """(all queries, queries on this app's tables) one GET makes."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    ours = [query for query in captured.captured_queries if "media_sync_" in query["sql"]]
    return len(captured.captured_queries), len(ours)


def test_the_endpoint_costs_three_queries_however_many_items_change(
    operator: Client, rc_sim: RecoveryConnectSimulator
) -> None:
    small = rc_transfer(rc_sim, [9100002], photos=1)
    big = rc_transfer_photos_start(
        photos=list(order_photos(rc_sim, 60)),
        destinations=[9100002, 9100003],
        triggered_by="olga",
        enqueue=False,
    )
    assert big.items.count() == 120
    operator.get(progress_url(small))  # the session and the user's permissions, loaded once
    small_cost, big_cost = (
        queries_for(operator, progress_url(small)),
        queries_for(operator, progress_url(big)),
    )
    assert small_cost == big_cost
    assert small_cost[1] == 3  # the job with its counts; the changed rows; their photos (thumbnails)


def order_photos(rc_sim: RecoveryConnectSimulator, count: int) -> Any:
    order = order_on_both_sides(rc_sim, 57076700, 9100700, [180470000 + n for n in range(count)])
    rc_sim.add_order(57076701, 9100003)
    return order.photos.all()


def test_a_flood_of_changes_is_sent_in_slices_the_cursor_walks_through(
    operator: Client, rc_sim: RecoveryConnectSimulator
) -> None:
    job = rc_transfer_photos_start(
        photos=list(order_photos(rc_sim, 150)),
        destinations=[9100003, 9100002],
        triggered_by="olga",
        enqueue=False,
    )
    start = timezone.now() - timedelta(hours=1)
    for n, item in enumerate(job.items.order_by("id")):
        TransferItem.objects.filter(pk=item.pk).update(updated_at=start + timedelta(milliseconds=n))
    seen: set[int] = set()
    cursor = start.isoformat()
    for _ in range(3):
        answer = operator.get(progress_url(job), {"since": cursor}).json()
        assert len(answer["rows"]) <= ROW_LIMIT
        seen |= {row["id"] for row in answer["rows"]}
        cursor = answer["cursor"]
    assert seen == set(job.items.values_list("pk", flat=True))


# --- Booking.com batches ---------------------------------------------------------------------------------


def test_the_batch_endpoint_follows_a_batch_until_booking_ends_it(
    operator: Client, su_sim: SuApiSimulator, live_app: Any, settings: Any
) -> None:
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = live_app.url  # Booking.com fetches each photo from us
    batch = su_waiting_batch(su_sim)
    assert batch.status == BatchStatus.POLLING
    url = reverse("admin:media_sync_subatch_progress", args=[batch.pk])
    page = operator.get(reverse("admin:media_sync_subatch_change", args=[batch.pk])).text
    assert f'data-progress-url="{url}"' in page and "http-equiv" not in page
    assert 'role="progressbar" aria-label="Photos Booking.com has settled"' in page
    sent_ids = sorted(batch.photos.values_list("pk", flat=True))
    assert sorted(int(pk) for pk in re.findall(r'<tr id="item-(\d+)"', page)) == sent_ids

    waiting = operator.get(url).json()
    assert (waiting["state"], waiting["ended"], waiting["counts"]["waiting"]) == ("polling", False, 2)
    assert waiting["text"]["batch-counts"] == "2 new"
    assert sorted(row["id"] for row in waiting["rows"]) == sent_ids

    su_sim.clock.advance(10)
    su_poll_now(batch=batch)
    ended = operator.get(url).json()
    assert ended["ended"] is True and ended["state"] == "finished"
    assert ended["counts"]["succeeded"] + ended["counts"]["failed"] == 2 and ended["percent"] == 100
    assert ended["text"]["batch-counts"] == "1 ok, 1 duplicate"
    assert ended["announce"].startswith("Batch ended: Finished.")
    page = operator.get(reverse("admin:media_sync_subatch_change", args=[batch.pk])).text
    assert "data-progress-url" not in page and "progress.js" not in page

    stranger = Client()
    login(stranger, "sam")  # staff, no role
    assert stranger.get(url).status_code == 403
    with CaptureQueriesContext(connection) as captured:
        operator.get(url)
    assert len([q for q in captured.captured_queries if "media_sync_" in q["sql"]]) == 2


def test_no_template_reloads_itself() -> None:
    offenders = [
        str(path) for path in TEMPLATES.rglob("*.html") if "http-equiv" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
