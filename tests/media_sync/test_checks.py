"""Check at the provider, afterwards (RecoveryConnect transfers), against the simulator over real HTTP:
what each check finds, one list call per destination, nothing sent again, its audit rows and pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CheckResult,
    JobStatus,
    Operation,
    RecoveryConnectOrder,
    TransferItem,
    TransferJob,
)
from media_sync.schedules import SCHEDULES
from media_sync.selectors_dashboard import dashboard_charts
from media_sync.services import checks
from media_sync.services.checks import job_check, jobs_check_due
from media_sync.services.demo import demo_orders_load
from media_sync.services.demo_checks import demo_checked_transfer
from media_sync.services.recoveryconnect import (
    rc_refresh_start,
    rc_transfer_all_start,
    rc_transfer_photos_start,
)
from media_sync.services.refusals import InputRefused
from media_sync.services.run import job_run
from media_sync.tasks import check_finished_jobs
from tests.media_sync.factories import order_on_both_sides

pytestmark = pytest.mark.django_db

PHOTOS = [180461378, 180461379]
DEST_A, DEST_B = 9100002, 9100010  # client order ids; internal 57076502, 57076510


@pytest.fixture
def source(rc_sim: RecoveryConnectSimulator) -> RecoveryConnectOrder:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, PHOTOS)
    order_on_both_sides(rc_sim, 57076502, DEST_A, [])
    order_on_both_sides(rc_sim, 57076510, DEST_B, [])
    return order


def transferred(source: RecoveryConnectOrder) -> TransferJob:
    job = rc_transfer_photos_start(
        photos=list(source.photos.all()), destinations=[DEST_A, DEST_B], triggered_by="olga"
    )
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    return job


def remove_at_provider(sim: RecoveryConnectSimulator, internal_order_id: int, name: str) -> None:
    """Through the simulator's control route, as the demo does: a copy deleted at RecoveryConnect."""
    order = sim.orders[internal_order_id]
    photo_id = next(photo.id for photo in order.photos if photo.name == name)
    base = settings.RECOVERYCONNECT["BASE_URL"]
    answer = requests.post(
        f"{base}/_sim/recoveryconnect/orders/{internal_order_id}/photos/{photo_id}/remove", timeout=10
    )
    assert answer.status_code == 200, answer.text


def results(job: TransferJob) -> dict[tuple[str, str], str]:
    return {(i.item, i.destination): i.check_result for i in TransferItem.objects.filter(job=job)}


def list_calls(job: TransferJob) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation=Operation.LIST_PHOTOS))


def test_confirmed_missing_and_removed_later_one_list_call_per_destination(
    rc_sim: RecoveryConnectSimulator, source: RecoveryConnectOrder
) -> None:
    job = transferred(source)
    transfers = len(rc_sim.transfers)

    summary = job_check(job=job, triggered_by="leo")

    assert set(results(job).values()) == {CheckResult.CONFIRMED}
    assert summary.counts[CheckResult.CONFIRMED] == 4
    assert len(list_calls(job)) == 2  # two destinations, four items
    # The copy in order A of the first photo deleted at RecoveryConnect: it was confirmed, now gone.
    remove_at_provider(rc_sim, 57076502, f"{PHOTOS[0]}.jpg")
    job_check(job=job, triggered_by="leo")
    assert results(job)[(str(PHOTOS[0]), str(DEST_A))] == CheckResult.REMOVED_LATER
    assert results(job)[(str(PHOTOS[1]), str(DEST_A))] == CheckResult.CONFIRMED
    assert len(list_calls(job)) == 4
    # Nothing sent again, and the items keep their status.
    assert len(rc_sim.transfers) == transfers
    assert all(i.status == "succeeded" for i in job.items.all())
    rows = AuditEvent.objects.filter(job=job, kind=AuditKind.CHECK).order_by("id")
    assert rows.count() == 8
    last = rows.filter(item=str(PHOTOS[0]), destination=str(DEST_A)).last()
    assert last is not None
    assert (last.operation, last.outcome, last.provider_status, last.triggered_by) == (
        Operation.CHECK,
        "failed",
        CheckResult.REMOVED_LATER,
        "leo",
    )
    assert "no longer in order 9100002" in last.message


def test_a_copy_never_found_is_missing(
    rc_sim: RecoveryConnectSimulator, source: RecoveryConnectOrder
) -> None:
    job = rc_transfer_all_start(order=source, destinations=[DEST_A], triggered_by="olga")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    remove_at_provider(rc_sim, 57076502, f"{PHOTOS[1]}.jpg")  # before any check had seen it

    summary = job_check(job=job, triggered_by="leo")

    assert results(job) == {
        (str(PHOTOS[0]), str(DEST_A)): CheckResult.CONFIRMED,
        (str(PHOTOS[1]), str(DEST_A)): CheckResult.MISSING,
    }
    assert "missing at the provider 1" in str(summary)


def test_a_destination_not_mirrored_here_cannot_be_checked(
    rc_sim: RecoveryConnectSimulator, source: RecoveryConnectOrder
) -> None:
    job = transferred(source)
    RecoveryConnectOrder.objects.filter(client_order_id=DEST_B).delete()

    summary = job_check(job=job, triggered_by="leo")

    item = job.items.get(item=str(PHOTOS[0]), destination=str(DEST_B))
    assert item.checked_at is not None and item.check_result == ""
    assert "not mirrored here" in item.check_message
    assert summary.not_checked == 2
    assert len(list_calls(job)) == 1


def test_only_finished_transfers_are_checked(
    rc_sim: RecoveryConnectSimulator, source: RecoveryConnectOrder
) -> None:
    pending = rc_transfer_photos_start(
        photos=list(source.photos.all()), destinations=[DEST_A], triggered_by="o"
    )
    with pytest.raises(InputRefused, match="has not finished"):
        job_check(job=pending, triggered_by="leo")
    assert not list_calls(pending)


def test_the_job_page_the_timeline_and_the_dashboard_show_it(
    rc_sim: RecoveryConnectSimulator, source: RecoveryConnectOrder, lead: Client
) -> None:
    job = transferred(source)
    remove_at_provider(rc_sim, 57076510, f"{PHOTOS[0]}.jpg")
    page = reverse("admin:media_sync_transferjob_change", args=[job.pk])
    assert "Check at the provider" in lead.get(page).content.decode()

    # A team lead may ask: it only reads.
    answer = lead.post(reverse("admin:media_sync_transferjob_check", args=[job.pk]), follow=True)

    html = answer.content.decode()
    assert "Checking at the provider: each item" in html and "usually within a minute" in html
    assert "Confirmed at the provider: <strong>3 of 4</strong>" in html
    assert "Missing at the provider" in html
    timeline = reverse("admin:media_sync_auditevent_timeline", args=["order", "57076510"])
    assert "check at the provider" in lead.get(timeline).content.decode().lower()
    dashboard = lead.get(reverse("admin:media_sync_dashboard")).content.decode()
    assert "4 succeeded, 3 confirmed at the provider" in dashboard
    assert "is not in order" not in dashboard  # a check's finding is not among the causes of failure
    today = timezone.localdate()
    chart = {c.provider: c for c in dashboard_charts(since=today, until=today)}["recoveryconnect"]
    assert (chart.succeeded, chart.confirmed) == (4, 3)


def test_the_nightly_schedule_checks_recent_unchecked_jobs_once_a_day(
    rc_sim: RecoveryConnectSimulator, source: RecoveryConnectOrder
) -> None:
    assert SCHEDULES["media-sync: check finished jobs at the provider"]["func"] == (
        "media_sync.tasks.check_finished_jobs"
    )
    job = transferred(source)
    old = transferred_again = rc_transfer_photos_start(
        photos=list(source.photos.all()), destinations=[DEST_A], triggered_by="olga"
    )
    job_run(job_id=transferred_again.pk)
    TransferJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=8))

    assert check_finished_jobs() == 1  # the old one is past MEDIA_SYNC_CHECK_DAYS
    assert AuditEvent.objects.filter(job=job, kind=AuditKind.CHECK, triggered_by="schedule").count() == 4
    assert not AuditEvent.objects.filter(job=old, kind=AuditKind.CHECK).exists()
    assert jobs_check_due() == 0  # checked in the last day
    assert jobs_check_due(now=timezone.now() + timedelta(days=1, minutes=1)) == 1


def test_a_job_of_another_kind_is_refused_and_the_refusal_audited(
    rc_sim: RecoveryConnectSimulator, source: RecoveryConnectOrder, lead: Client
) -> None:
    refresh = rc_refresh_start(order_ids=[57076503], triggered_by="olga", enqueue=False)
    job_run(job_id=refresh.pk)
    page = lead.get(reverse("admin:media_sync_transferjob_change", args=[refresh.pk])).content.decode()
    assert "job-check-button" not in page

    answer = lead.post(reverse("admin:media_sync_transferjob_check", args=[refresh.pk]), follow=True)

    assert "cannot be checked at the provider" in answer.content.decode()
    refusal = AuditEvent.objects.get(kind=AuditKind.REFUSAL, operation=Operation.CHECK)
    assert (refusal.triggered_by, refusal.subject) == ("leo", "order 57076503")


def test_the_simulator_says_which_photo_it_cannot_remove(rc_sim: RecoveryConnectSimulator) -> None:
    base = settings.RECOVERYCONNECT["BASE_URL"]
    answer = requests.post(f"{base}/_sim/recoveryconnect/orders/1/photos/2/remove", timeout=10)
    assert answer.status_code == 404 and "Order 1 does not exist" in answer.json()["message"]


def test_the_demo_has_a_transfer_whose_check_finds_one_photo_missing(
    rc_sim: RecoveryConnectSimulator,
) -> None:
    rc_sim.seed_demo()
    demo_orders_load()

    job = demo_checked_transfer()

    found = {item.item: item.check_result for item in job.items.all()}
    assert sorted(found.values()) == [CheckResult.CONFIRMED, CheckResult.MISSING]
    missing = job.items.get(check_result=CheckResult.MISSING)
    assert missing.check_message == "rear.jpg is not in order 9100004"


def test_the_button_queues_the_check_for_a_worker_and_writes_nothing_itself(
    source: RecoveryConnectOrder, lead: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside the tests' in-process queue: the request only enqueues (django-q's async_task is replaced
    to catch what it is given); the worker's task does the check."""
    job = transferred(source)
    queued: list[tuple[object, ...]] = []
    monkeypatch.setattr(checks, "async_task", lambda *args, **kwargs: queued.append(args))

    lead.post(reverse("admin:media_sync_transferjob_check", args=[job.pk]))

    assert queued == [(checks.CHECK_TASK, job.pk, "leo")]
    assert not AuditEvent.objects.filter(job=job, kind=AuditKind.CHECK).exists()
    task = import_string(checks.CHECK_TASK)
    assert task(job.pk, "leo") == "confirmed at the provider 4"
    assert set(results(job).values()) == {CheckResult.CONFIRMED}
