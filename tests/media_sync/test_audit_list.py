"""The audit list stays cheap on a big table: no full count per page, fixed filter choices."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from media_sync.admin.audit import EstimatedCountPaginator
from media_sync.models import AuditEvent, AuditKind, Outcome
from tests.media_sync.test_admin import login

pytestmark = pytest.mark.django_db
AUDIT = reverse("admin:media_sync_auditevent_changelist")


@pytest.fixture
def rows() -> None:
    for failure_class in ("timeout", "timeout", "not_found", "", ""):
        AuditEvent.objects.create(
            kind=AuditKind.ITEM,
            provider="recoveryconnect",
            operation="x",
            outcome=Outcome.FAILED if failure_class else Outcome.SUCCEEDED,
            failure_class=failure_class,
        )


def test_a_filtered_count_stops_at_the_cap(rows: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EstimatedCountPaginator, "cap", 2)
    assert EstimatedCountPaginator(AuditEvent.objects.filter(outcome="failed"), 100).count == 2
    monkeypatch.setattr(EstimatedCountPaginator, "cap", 100)
    assert EstimatedCountPaginator(AuditEvent.objects.filter(outcome="failed"), 100).count == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own row estimate")
def test_the_unfiltered_count_is_postgresqls_estimate(rows: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EstimatedCountPaginator, "cap", 2)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE media_sync_auditevent")
    assert EstimatedCountPaginator(AuditEvent.objects.all(), 100).count == 5


def test_failure_class_filter_has_fixed_choices_and_filters(client: Client, rows: None) -> None:
    login(client, "leo", "Team leads")
    page = client.get(AUDIT, {"failure_class__exact": "timeout"})
    assert page.status_code == 200 and "rate limited" in page.text  # a fixed choice, though no row has it
    assert page.context["cl"].result_count == 2


def test_each_row_links_to_its_job_and_its_subject(client: Client) -> None:
    AuditEvent.objects.create(
        kind=AuditKind.ITEM,
        provider="corrigopro",
        operation="cp_upload",
        outcome=Outcome.SUCCEEDED,
        subject="work order 4100001",
    )
    AuditEvent.objects.create(
        kind=AuditKind.ITEM,
        provider="recoveryconnect",
        operation="rc_transfer_photos",
        outcome=Outcome.SUCCEEDED,
        subject="order 57076503, order 57076504",
    )
    login(client, "leo", "Team leads")
    page = client.get(AUDIT).text
    assert reverse("admin:media_sync_corrigoworkorder_changelist") + "?q=4100001" in page
    assert reverse("admin:media_sync_recoveryconnectorder_changelist") + "?q=57076503" in page


def _event(**fields: object) -> AuditEvent:
    values: dict[str, object] = {
        "kind": AuditKind.ITEM,
        "provider": "corrigopro",
        "operation": "cp_upload",
        "outcome": Outcome.FAILED,
    }
    return AuditEvent.objects.create(**{**values, **fields})


def test_error_code_and_user_boxes_filter_exactly_and_keep_the_other_filters(client: Client) -> None:
    _event(error_code="3001", triggered_by="olga")
    _event(error_code="3001", triggered_by="olga", provider="suapi")
    _event(error_code="3001", triggered_by="olga", outcome=Outcome.SUCCEEDED)
    _event(error_code="30010", triggered_by="olga")
    _event(error_code="3001", triggered_by="olgaa")
    login(client, "leo", "Team leads")

    page = client.get(AUDIT, {"error_code": "3001", "triggered_by": "olga", "provider__exact": "corrigopro"})

    assert page.status_code == 200
    assert page.context["cl"].result_count == 2  # failed and succeeded, not 30010 nor olgaa nor suapi
    # Each box re-submits the list's other filters as hidden fields.
    assert '<input type="hidden" name="provider__exact" value="corrigopro">' in page.text
    assert '<input type="hidden" name="error_code" value="3001">' in page.text


def test_date_range_includes_both_days_in_the_site_time_zone(client: Client) -> None:
    day = timezone.make_aware(datetime(2026, 11, 17, 0, 0, 5))
    for message, when in [
        ("day before, last second", day - timedelta(seconds=10)),
        ("first", day),
        ("last", day + timedelta(days=1, seconds=-10)),
        ("day after", day + timedelta(days=1)),
    ]:
        _event(message=message, timestamp=when)
    login(client, "leo", "Team leads")

    page = client.get(AUDIT, {"since": "2026-11-17", "until": "2026-11-17"})

    assert sorted(event.message for event in page.context["cl"].result_list) == ["first", "last"]


def test_an_impossible_date_is_said_not_failed(client: Client) -> None:
    login(client, "leo", "Team leads")
    page = client.get(AUDIT, {"since": "2026-02-30"})
    assert page.status_code == 200
    assert "Not a date: since" in page.text


def test_export_follows_the_new_filters(client: Client) -> None:
    _event(error_code="3001", message="wanted")
    _event(error_code="3002", message="other")
    login(client, "leo", "Team leads")
    export = reverse("admin:media_sync_auditevent_export")
    body = b"".join(client.get(export, {"error_code": "3001"}).streaming_content).decode()  # type: ignore[attr-defined]
    assert "wanted" in body and "other" not in body
