"""The team lead's dashboard: volume and failure rate per provider per day, top failures, open jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from media_sync.models import AuditEvent, AuditKind, JobStatus, Outcome, TransferItem, TransferJob
from media_sync.selectors import item_counts
from media_sync.selectors_dashboard import (
    dashboard_charts,
    dashboard_top_failures,
    dashboard_volume,
    jobs_open,
)
from tests.media_sync.factories import login

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("admin:media_sync_dashboard")


def result(
    provider: str, outcome: str, *, days_ago: int = 0, failure_class: str = "", message: str = ""
) -> None:
    AuditEvent.objects.create(
        kind=AuditKind.ITEM,
        provider=provider,
        operation="x",
        outcome=outcome,
        failure_class=failure_class,
        message=message,
        timestamp=timezone.now() - timedelta(days=days_ago),
    )


@pytest.fixture
def history() -> None:
    for _ in range(3):
        result("recoveryconnect", Outcome.SUCCEEDED)
    result(
        "recoveryconnect",
        Outcome.FAILED,
        failure_class="provider_rule",
        message="RecoveryConnect answered fail",
    )
    result(
        "corrigopro",
        Outcome.FAILED,
        days_ago=2,
        failure_class="not_found",
        message="work order unknown (3005)",
    )
    result("corrigopro", Outcome.FAILED, days_ago=40, failure_class="timeout", message="too old to count")
    AuditEvent.objects.create(
        kind=AuditKind.HTTP, provider="suapi", operation="create", outcome=Outcome.FAILED
    )


def test_volume_counts_item_results_per_provider_and_day(history: None) -> None:
    today = timezone.localdate()
    rows = {
        (r.provider, r.day): (r.total, r.failed)
        for r in dashboard_volume(since=today - timedelta(days=13), until=today)
    }
    assert rows == {("recoveryconnect", today): (4, 1), ("corrigopro", today - timedelta(days=2)): (1, 1)}


def test_charts_draw_every_provider_day_on_the_busiest_day_s_scale(history: None) -> None:
    today = timezone.localdate()
    charts = {
        chart.provider: chart for chart in dashboard_charts(since=today - timedelta(days=13), until=today)
    }
    assert set(charts) == {"recoveryconnect", "corrigopro", "suapi"}
    rc, cp, su = charts["recoveryconnect"], charts["corrigopro"], charts["suapi"]
    assert (rc.total, rc.failed, rc.rate, cp.rate, su.total, su.rate) == (4, 1, 25.0, 100.0, 0, 0)
    assert [bar.day for bar in rc.bars] == [today - timedelta(days=n) for n in range(13, -1, -1)]
    assert (rc.bars[-1].height, rc.bars[-1].failed_height) == (100, 25)
    assert (cp.bars[-3].total, cp.bars[-3].height, cp.bars[-3].failed_height) == (1, 25, 25)
    assert len(dashboard_charts(since=today - timedelta(days=400), until=today)[0].bars) == 92


def test_top_failures_are_counted_by_cause(history: None) -> None:
    today = timezone.localdate()
    top = dashboard_top_failures(since=today - timedelta(days=13), until=today)
    assert {(row["provider"], row["failure_class"], row["n"]) for row in top} == {
        ("recoveryconnect", "provider_rule", 1),
        ("corrigopro", "not_found", 1),
    }


def test_a_job_whose_items_stopped_moving_looks_stuck() -> None:
    quiet = TransferJob.objects.create(
        provider="recoveryconnect",
        operation="rc_transfer_photos",
        subject="s",
        triggered_by="ann",
        status=JobStatus.RUNNING,
        created_at=timezone.now() - timedelta(hours=2),
    )
    TransferItem.objects.create(job=quiet, item="1", destination="2")
    TransferItem.objects.filter(job=quiet).update(updated_at=timezone.now() - timedelta(hours=2))
    busy = TransferJob.objects.create(
        provider="recoveryconnect",
        operation="rc_transfer_photos",
        subject="s",
        triggered_by="ann",
        status=JobStatus.RUNNING,
    )
    TransferItem.objects.create(job=busy, item="1", destination="2")
    running, stuck = jobs_open(stale_after=timedelta(minutes=15))
    assert {job.pk for job in running} == {quiet.pk, busy.pk}
    assert [job.pk for job in stuck] == [quiet.pk]
    assert [(item_counts(job).done, item_counts(job).total) for job in running] == [(0, 1), (0, 1)]


def test_team_lead_sees_the_charts_and_links_to_the_failing_rows(client: Client, history: None) -> None:
    login(client, "leo", "Team leads")
    page = client.get(DASHBOARD)
    assert page.status_code == 200
    assert "4 items ended, 1 failed in the end (25.0 %)" in page.text
    assert "work order unknown (#)" in page.text and "too old to count" not in page.text
    assert "failure_class__exact=not_found" in page.text
    # Causes in the filters' words, not as stored.
    assert "<td>CorrigoPro</td><td>not found</td>" in page.text and "<td>corrigopro</td>" not in page.text
    assert client.get(DASHBOARD, {"since": "2026-02-30", "until": "nonsense"}).status_code == 200
    assert "Dashboard" in client.get(reverse("admin:index")).text


def test_dashboard_needs_the_audit_view_permission(client: Client) -> None:
    assert "/admin/login/" in client.get(DASHBOARD)["Location"]
    login(client, "sam")
    assert client.get(DASHBOARD).status_code == 403


SUMMARY = reverse("admin:media_sync_auditevent_summary")


def test_summary_counts_per_day_provider_operation_and_outcome(client: Client, history: None) -> None:
    login(client, "leo", "Team leads")
    response = client.get(SUMMARY)
    assert response.status_code == 200
    lines = response.getvalue().decode().splitlines()
    today = timezone.localdate()
    assert lines[0] == "day,provider,operation,outcome,count"
    assert (
        f"{today},recoveryconnect,x,failed,1" in lines and f"{today},recoveryconnect,x,succeeded,3" in lines
    )
    assert not any("suapi" in line for line in lines)  # HTTP exchanges are not item results
    assert not any(line.startswith(str(today - timedelta(days=40))) for line in lines)  # outside the range


def test_summary_from_the_command_is_the_same(history: None) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("export_audit", "--output", "-", "--summary", stdout=out)
    today = timezone.localdate()
    assert out.getvalue().splitlines() == [
        "day,provider,operation,outcome,count",
        f"{today - timedelta(days=40)},corrigopro,x,failed,1",
        f"{today - timedelta(days=2)},corrigopro,x,failed,1",
        f"{today},recoveryconnect,x,failed,1",
        f"{today},recoveryconnect,x,succeeded,3",
    ]


def test_only_those_who_may_export_get_the_summary(client: Client) -> None:
    login(client, "olga", "Operators")
    assert client.get(SUMMARY).status_code == 403
