"""Counts that add up across retries: the job page and the dashboard count items, not attempts. An item
that failed twice and then succeeded is one success (its attempts shown on its row), and "failed" means
failed in the end. Built through the real runner against the RecoveryConnect simulator with its faults."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults
from media_sync.models import AuditEvent, AuditKind, ItemStatus, Outcome, TransferJob
from media_sync.selectors_dashboard import dashboard_charts, dashboard_top_failures, dashboard_volume
from media_sync.services.jobs import job_retry_failed
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from tests.media_sync.factories import login, order_on_both_sides

pytestmark = pytest.mark.django_db

STEADY, LOCKED = 180461378, 180461380


@pytest.fixture
def job(rc_sim: RecoveryConnectSimulator) -> TransferJob:
    """Two photos to one order. The provider is down for the first two runs (every call a 5xx, retried by
    the client until it gives up: the item fails), then answers: the steady photo succeeds on its third
    attempt, the locked one fails each time."""
    source = order_on_both_sides(rc_sim, 57076503, 9100001, [STEADY, LOCKED], locked=(LOCKED,))
    order_on_both_sides(rc_sim, 57076502, 9100002, [])
    job = rc_transfer_photos_start(
        photos=list(source.photos.all()), destinations=[9100002], triggered_by="ann", enqueue=False
    )
    rc_sim.faults = Faults(error_rate=1.0)
    job_run(job_id=job.pk)
    assert job_retry_failed(job=job, enqueue=False) == 2
    job_run(job_id=job.pk)
    rc_sim.faults = Faults()
    assert job_retry_failed(job=job, enqueue=False) == 2
    job_run(job_id=job.pk)
    return TransferJob.objects.get(pk=job.pk)


def test_the_audit_holds_every_attempt(job: TransferJob) -> None:
    """What the figures below must not count: three item rows per photo, five of them failures."""
    rows = AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM).order_by("id")
    assert [(r.item, r.outcome, r.attempt) for r in rows if r.item == str(STEADY)] == [
        (str(STEADY), Outcome.FAILED, 1),
        (str(STEADY), Outcome.FAILED, 2),
        (str(STEADY), Outcome.SUCCEEDED, 3),
    ]
    assert rows.filter(outcome=Outcome.FAILED).count() == 5


def test_the_job_page_counts_items_and_shows_each_item_s_attempts(client: Client, job: TransferJob) -> None:
    login(client, "leo", "Team leads")
    page = client.get(reverse("admin:media_sync_transferjob_change", args=[job.pk])).text
    assert re.search(r'id="job-progress">2 of 2</strong>', page)
    assert re.search(r'id="count-succeeded">\s*Succeeded 1\s*<', page)
    assert re.search(r'id="count-failed">\s*Failed 1\s*<', page)
    steady = job.items.get(item=str(STEADY))
    assert (steady.status, steady.attempts) == (ItemStatus.SUCCEEDED, 3)
    row = page.split(f'id="item-{steady.pk}"')[1].split("</tr>")[0]
    assert re.search(r'class="item-attempts"[^>]*>\s*<a [^>]*>3 attempts</a>', row)
    audit_list = reverse("admin:media_sync_auditevent_changelist")
    audit = f"{audit_list}?job={job.pk}&amp;kind__exact=item&amp;q={STEADY}"
    assert audit in row
    attempts = client.get(audit.replace("&amp;", "&")).context["cl"]
    assert [e.outcome for e in attempts.result_list] == [Outcome.SUCCEEDED, Outcome.FAILED, Outcome.FAILED]
    progress = client.get(reverse("admin:media_sync_transferjob_progress", args=[job.pk])).json()
    assert (progress["counts"]["succeeded"], progress["counts"]["failed"], progress["done"]) == (1, 1, 2)


def test_the_dashboard_counts_each_item_once_by_how_it_ended(client: Client, job: TransferJob) -> None:
    today = timezone.localdate()
    since = today - timedelta(days=13)
    volume = [(row.provider, row.total, row.failed) for row in dashboard_volume(since=since, until=today)]
    assert volume == [("recoveryconnect", 2, 1)]
    chart = next(c for c in dashboard_charts(since=since, until=today) if c.provider == "recoveryconnect")
    assert (chart.total, chart.failed, chart.rate, chart.succeeded) == (2, 1, 50.0, 1)
    # The top causes: the locked photo's answer, once; the 5xx the steady photo got through are gone.
    top = dashboard_top_failures(since=since, until=today)
    assert [(row["failure_class"], row["n"]) for row in top] == [("provider_rule", 1)]
    login(client, "leo", "Team leads")
    page = client.get(reverse("admin:media_sync_dashboard")).text
    assert "2 items ended, 1 failed in the end (50.0 %)" in page


def test_an_item_ending_after_the_range_is_counted_on_the_day_it_ended(job: TransferJob) -> None:
    """A failure followed by a later success is not a failure of the earlier day either."""
    steady = AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM, item=str(STEADY))
    first = steady.order_by("id").first()
    assert first is not None
    # The first attempt, as if two days ago (the audit refuses UPDATE: a copy with the old time).
    AuditEvent.objects.create(
        kind=AuditKind.ITEM,
        provider=first.provider,
        operation=first.operation,
        job=job,
        item=first.item,
        destination=first.destination,
        outcome=Outcome.FAILED,
        attempt=1,
        timestamp=timezone.now() - timedelta(days=2),
    )
    two_days_ago = timezone.localdate() - timedelta(days=2)
    assert dashboard_volume(since=two_days_ago, until=two_days_ago) == []


def test_the_summary_csv_counts_the_same_items_as_the_charts(client: Client, job: TransferJob) -> None:
    login(client, "leo", "Team leads")
    response = client.get(reverse("admin:media_sync_auditevent_summary"))
    lines = b"".join(response.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
    today = timezone.localdate().isoformat()
    assert lines[1:] == [
        f"{today},recoveryconnect,rc_transfer_photos,failed,1",
        f"{today},recoveryconnect,rc_transfer_photos,succeeded,1",
    ]
