"""The audit at ten million rows (bench/audit_scale.py measures it): a search looks its rows up by id, the
list says when its count is an estimate, the dashboard counts from its indexes; each page costs the same
queries however many rows there are."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from media_sync.admin import audit as audit_admin
from media_sync.admin import audit_query
from media_sync.admin.audit_query import EstimatedCountPaginator
from media_sync.models import AuditEvent, AuditKind, Outcome, TransferJob
from media_sync.selectors_dashboard import dashboard_volume, item_endings
from tests.media_sync.factories import login

pytestmark = pytest.mark.django_db
AUDIT = reverse("admin:media_sync_auditevent_changelist")
DASHBOARD = reverse("admin:media_sync_dashboard")


def seed(rows: int, *, destinations: int = 5) -> None:
    """`rows` audit rows about 50 orders, into `destinations` destination orders (each a few hundred rows:
    what makes PostgreSQL take a destination id for a common value)."""
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            kind=(AuditKind.ITEM, AuditKind.HTTP)[n % 2],
            provider="recoveryconnect",
            operation="rc_transfer_photos",
            outcome=Outcome.FAILED if n % 10 == 0 else Outcome.SUCCEEDED,
            subject=f"order {57000000 + n % 50}",
            item=str(180000000 + n),
            destination=str(9100000 + n % destinations),
            timestamp=now - timedelta(minutes=n % 5000),
        )
        for n in range(rows)
    )


def shown_ids(page: Any) -> list[int]:
    return [event.pk for event in page.context["cl"].result_list]


@pytest.mark.parametrize("rows", [100, 1000])
def test_a_search_costs_the_same_queries_however_many_rows(
    client: Client, rows: int, django_assert_num_queries: Any
) -> None:
    seed(rows)
    login(client, "leo", "Team leads")
    client.get(AUDIT)  # the session and permission caches, as on any later page
    # Session, user, two permission reads, the ids the search names, the capped count, the page, the
    # saved views.
    with django_assert_num_queries(8):
        page = client.get(AUDIT, {"q": "57000007"})
    expected = AuditEvent.objects.filter(subject="order 57000007").order_by("-timestamp", "-id")
    assert shown_ids(page) == list(expected.values_list("pk", flat=True)[:100])
    assert len(shown_ids(page)) == rows // 50


def test_a_search_matching_more_rows_than_it_looks_up_by_id_shows_the_same_rows(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(300, destinations=2)
    login(client, "leo", "Team leads")
    by_id = client.get(AUDIT, {"q": "9100001", "outcome__exact": "succeeded"})
    monkeypatch.setattr(audit_query, "SEARCH_IDS", 10)  # 150 rows match: more than it looks up
    filtered = client.get(AUDIT, {"q": "9100001", "outcome__exact": "succeeded"})
    expected = AuditEvent.objects.filter(destination="9100001", outcome="succeeded")
    assert shown_ids(by_id) == shown_ids(filtered) == list(expected.values_list("pk", flat=True)[:100])
    assert expected.count() == 150
    # The export takes the search's rows, whichever way they were found.
    exported = client.get(reverse("admin:media_sync_auditevent_export"), {"q": "9100001"})
    assert exported.getvalue().count(b"\n") == 150 + 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
@pytest.mark.db_owner  # ANALYZE is the owner's (autovacuum's, in production)
def test_postgresql_finds_a_searchs_rows_on_the_columns_indexes_not_along_the_newest_first_one() -> None:
    seed(20_000, destinations=4)
    with connection.cursor() as cursor:
        # As ten million rows look to the planner: more destination ids than its list of common values
        # holds, so any other id is taken for as common as the average one (here 5,000 rows).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the rows' deferred checks, before ALTER TABLE
        cursor.execute("ALTER TABLE media_sync_auditevent ALTER COLUMN destination SET STATISTICS 1")
        cursor.execute("ANALYZE media_sync_auditevent")
    term = "57000007"
    subjects = [f"{kind} {term}" for kind in audit_admin.SUBJECT_LISTS]
    match = Q(item=term) | Q(destination=term) | Q(reference=term) | Q(subject__in=subjects)
    newest = ("-timestamp", "-id")
    # The trap: asked straight away, the newest 100 are looked for along the newest-first index.
    assert "audit_recent" in AuditEvent.objects.filter(match).order_by(*newest)[:100].explain()
    found = audit_query.search_matches(AuditEvent.objects.all(), match)
    plan = found.order_by(*newest)[:100].explain()
    # Found by id: no search column is read along the newest-first index. (On the monthly partitions of
    # so small a table the planner may still walk a partition's index for those ids; at ten million rows
    # it does not: bench/audit_scale.py, "search, order id".)
    assert "id = ANY" in plan and "destination" not in plan, plan
    assert found.count() == 400


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row estimate")
@pytest.mark.db_owner  # ANALYZE is the owner's (autovacuum's, in production)
def test_the_list_says_its_count_is_an_estimate_or_stopped_at_the_cap(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(1_234)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE media_sync_auditevent")
    login(client, "leo", "Team leads")
    monkeypatch.setattr(EstimatedCountPaginator, "cap", 1_000)
    page = client.get(AUDIT)
    assert page.context["cl"].paginator.count_kind == "estimate"
    assert "about 1,234</span>\naudit events" in page.text
    capped = client.get(AUDIT, {"kind__exact": "item"})  # 617 rows, counted up to 1,000: exact
    assert ">617</span>\naudit events" in capped.text
    monkeypatch.setattr(EstimatedCountPaginator, "cap", 500)
    capped = client.get(AUDIT, {"kind__exact": "item"})
    assert "500 or more</span>\naudit events" in capped.text


def test_an_exact_count_is_shown_as_before(client: Client) -> None:
    seed(3)
    login(client, "leo", "Team leads")
    page = client.get(AUDIT)
    assert page.context["cl"].paginator.count_kind == "exact"
    assert ">3</span>\naudit events" in page.text
    one = client.get(AUDIT, {"q": "180000001"})
    assert ">1</span>\naudit event\n" in one.text


def retried(job: TransferJob, item: str, outcomes: list[str], *, days_ago: int = 0) -> None:
    """One item's results in order, a minute apart, the last `days_ago` days back."""
    end = timezone.now() - timedelta(days=days_ago)
    for n, outcome in enumerate(outcomes):
        AuditEvent.objects.create(
            kind=AuditKind.ITEM,
            provider=job.provider,
            operation=job.operation,
            job=job,
            item=item,
            destination="9100001",
            outcome=outcome,
            timestamp=end - timedelta(minutes=len(outcomes) - n),
        )


def test_the_dashboards_counts_are_each_items_last_result_as_before() -> None:
    """Every result less those superseded (two queries) counts what item_endings keeps (one)."""
    jobs = [
        TransferJob.objects.create(provider=provider, operation="x", subject="s", triggered_by="ann")
        for provider in ("recoveryconnect", "corrigopro")
    ]
    for job in jobs:
        retried(job, "1", [Outcome.FAILED, Outcome.FAILED, Outcome.SUCCEEDED])
        retried(job, "2", [Outcome.FAILED, Outcome.FAILED])
        retried(job, "3", [Outcome.FAILED, Outcome.PENDING], days_ago=1)
        retried(job, "4", [Outcome.FAILED], days_ago=2)
        retried(job, "5", [Outcome.PENDING, Outcome.FAILED], days_ago=3)
        retried(job, "6", [Outcome.FAILED], days_ago=20)  # outside the range
    retried(jobs[0], "7", [Outcome.FAILED, Outcome.SUCCEEDED], days_ago=0)
    today = timezone.localdate()
    since = today - timedelta(days=13)
    volume = {
        (row.provider, row.day): (row.total, row.failed) for row in dashboard_volume(since=since, until=today)
    }
    from media_sync.selectors import audit_filter

    endings = item_endings(
        audit_filter(since=since, until=today, queryset=AuditEvent.objects.filter(kind=AuditKind.ITEM))
    ).exclude(outcome=Outcome.PENDING)
    expected: dict[tuple[str, Any], tuple[int, int]] = {}
    for event in endings:
        key = (event.provider, timezone.localdate(event.timestamp))
        total, failed = expected.get(key, (0, 0))
        expected[key] = (total + 1, failed + (event.outcome == Outcome.FAILED))
    assert volume == expected
    assert volume[("recoveryconnect", today)] == (3, 1)  # items 1 and 7 succeeded, 2 failed
    assert volume[("corrigopro", today - timedelta(days=3))] == (1, 1)  # item 5 failed in the end
    assert ("corrigopro", today - timedelta(days=1)) not in volume  # item 3 is still pending


@pytest.mark.parametrize("rows", [40, 400])
def test_the_dashboard_costs_the_same_queries_however_many_rows(
    client: Client, rows: int, django_assert_num_queries: Any
) -> None:
    seed(rows)
    login(client, "leo", "Team leads")
    client.get(DASHBOARD)
    # Session, user, the view permission, two for the counts, the checks, the top causes, the open jobs
    # and the export permission; on PostgreSQL the reads' settings too, in a savepoint here.
    with django_assert_num_queries(9 + 3 * (connection.vendor == "postgresql")):
        page = client.get(DASHBOARD)
    charts = {chart.provider: chart for chart in page.context["charts"]}
    assert (charts["recoveryconnect"].total, charts["recoveryconnect"].failed) == (rows // 2, rows // 10)
