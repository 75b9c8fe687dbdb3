"""The audit list stays cheap on a big table: no full count per page, fixed filter choices."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from media_sync.admin.audit import AuditEventAdmin
from media_sync.admin.audit_query import EstimatedCountPaginator
from media_sync.models import AuditEvent, AuditKind, Outcome, TransferJob
from tests.media_sync.factories import login

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
@pytest.mark.db_owner  # ANALYZE is the owner's (autovacuum's, in production)
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


def test_a_row_links_its_subject_to_its_timeline_and_a_job_about_many_to_the_job(client: Client) -> None:
    job = TransferJob.objects.create(
        provider="corrigopro",
        operation="cp_sync",
        subject=", ".join(f"work order {n}" for n in range(4100001, 4100007)),
        triggered_by="olga",
    )
    AuditEvent.objects.create(
        kind=AuditKind.ITEM,
        provider="recoveryconnect",
        operation="rc_transfer_photos",
        outcome=Outcome.SUCCEEDED,
        subject="order 57076503",
        item="180000001",
        destination="9100001",
    )
    AuditEvent.objects.create(
        kind=AuditKind.ITEM,
        provider="corrigopro",
        operation="cp_sync",
        outcome=Outcome.FAILED,
        subject=job.subject,
        job=job,
        item="4100002",
    )
    login(client, "leo", "Team leads")
    page = client.get(AUDIT).text
    assert f'href="{reverse("admin:media_sync_auditevent_timeline", args=["order", "57076503"])}"' in page
    assert f'href="{reverse("admin:media_sync_auditevent_timeline", args=["photo", "180000001"])}"' in page
    assert f'href="{reverse("admin:media_sync_auditevent_timeline", args=["workorder", "4100002"])}"' in page
    assert '180000001</a> <span class="nowrap">→ 9100001</span>' in page
    job_page = reverse("admin:media_sync_transferjob_change", args=[job.pk])
    assert f'<a href="{job_page}" title="Job {job.pk}: every item">6 work orders</a>' in page
    assert "work order 4100003" not in page  # never the whole list
    assert "transfer photos" in page and "refresh attachments" in page  # operations in words
    assert '<span class="outcome outcome-failed">failed</span>' in page


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


BAD_PARAMETERS = [
    ({"p": "-1"}, "Not a page number: p=-1"),
    ({"p": "abc"}, "Not a page number: p=abc"),
    ({"p": "0"}, "Not a page number: p=0"),
    ({"o": "99"}, "Not a column to sort by: o=99"),
    ({"o": "2.abc"}, "Not a column to sort by: o=2.abc"),
    ({"provider__exact": "zzz"}, "Not one of the choices: provider__exact=zzz"),
    ({"outcome__exact": "zzz"}, "Not one of the choices: outcome__exact=zzz"),
    ({"kind__exact": "zzz"}, "Not one of the choices: kind__exact=zzz"),
    ({"operation__exact": "zzz"}, "Not one of the choices: operation__exact=zzz"),
    ({"failure_class__exact": "zzz"}, "Not one of the choices: failure_class__exact=zzz"),
    ({"since": "abc"}, "Not a date: since=abc"),
    ({"until": "2026-02-30"}, "Not a date: until=2026-02-30"),
    ({"job": "abc"}, "Not a job id: job=abc"),
    ({"foo": "bar"}, "No such filter: foo=bar"),
    ({"p": "²"}, "Not a page number: p=²"),  # a digit to str.isdigit, not to int()
    ({"job": "99999999999999999999"}, "Not a job id: job=99999999999999999999"),  # past a 64-bit integer
    ({"q": "a\x00b"}, "Not readable (a NUL character): q"),  # PostgreSQL refuses NUL in a string
]


@pytest.mark.parametrize(("params", "reason"), BAD_PARAMETERS)
def test_the_list_leaves_out_a_bad_parameter_keeps_the_others_and_says_so(
    client: Client, params: dict[str, str], reason: str
) -> None:
    _event(provider="corrigopro", message="kept")
    _event(provider="suapi", message="filtered out")
    login(client, "leo", "Team leads")
    other = {} if "provider__exact" in params else {"provider__exact": "corrigopro"}

    page = client.get(AUDIT, {**params, **other})

    assert page.status_code == 200
    assert f"{reason}. The list is shown without it." in page.text
    shown = sorted(event.message for event in page.context["cl"].result_list)
    assert shown == (["filtered out", "kept"] if "provider__exact" in params else ["kept"])


@pytest.mark.parametrize(("params", "reason"), BAD_PARAMETERS)
def test_the_export_with_a_bad_parameter_exports_nothing_and_opens_the_list_saying_why(
    client: Client, params: dict[str, str], reason: str
) -> None:
    _event()
    login(client, "leo", "Team leads")
    export = reverse("admin:media_sync_auditevent_export")

    other = {} if "provider__exact" in params else {"provider__exact": "corrigopro"}

    answer = client.get(export, {**params, **other})

    assert answer.status_code == 302
    assert answer["Location"].startswith(AUDIT)
    if other:
        assert "provider__exact=corrigopro" in answer["Location"]  # the good filters kept
    page = client.get(answer["Location"])
    assert page.status_code == 200
    assert f"{reason}. Nothing was exported." in page.text


def test_a_page_past_the_last_shows_the_first_and_the_export_takes_every_page(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AuditEventAdmin, "list_per_page", 1)
    _event(message="older row", timestamp=timezone.now() - timedelta(minutes=1))
    _event(message="newer row")
    login(client, "leo", "Team leads")
    page = client.get(AUDIT, {"p": "99"})
    assert page.status_code == 200
    assert "There is no page 99: the first page is shown." in page.text
    assert [event.message for event in page.context["cl"].result_list] == ["newer row"]
    export = reverse("admin:media_sync_auditevent_export")
    body = b"".join(client.get(export, {"p": "2"}).streaming_content).decode()  # type: ignore[attr-defined]
    assert "older row" in body and "newer row" in body


def test_the_dashboard_and_its_summary_answer_a_bad_date_with_a_message(client: Client) -> None:
    login(client, "leo", "Team leads")
    dashboard = client.get(reverse("admin:media_sync_dashboard"), {"since": "abc"})
    assert dashboard.status_code == 200
    assert "Not a date: since=abc; the last two weeks are shown instead." in dashboard.text
    summary = client.get(reverse("admin:media_sync_auditevent_summary"), {"until": "2026-13-45"})
    assert summary.status_code == 302 and summary["Location"] == reverse("admin:media_sync_dashboard")
    assert "Not a date: until=2026-13-45: nothing was exported." in client.get(summary["Location"]).text


def test_a_rows_page_shows_request_and_response_as_indented_json_redaction_kept(client: Client) -> None:
    row = _event(
        kind=AuditKind.HTTP,
        http_status=422,
        duration_ms=87,
        attempt=3,
        reference="ruid-77",
        subject="work order 4100001",
        request_summary='{"username":"olga","password":"[redacted]","photoIds":[180461378]}',
        response_summary='{"status":"fail","message":"locked"… [1200 more characters]',
    )
    login(client, "leo", "Team leads")

    page = client.get(reverse("admin:media_sync_auditevent_change", args=[row.pk])).text

    page = page.replace("&quot;", '"')
    assert (
        '<pre class="exchange">{\n  "username": "olga",\n  "password": "[redacted]",\n  "photoIds": [' in page
    )
    # A summary cut short is no longer JSON: shown as it was stored.
    assert '<pre class="exchange">{"status":"fail","message":"locked"… [1200 more characters]</pre>' in page
    for fact in ("422", "87", "ruid-77", ">3<"):
        assert fact in page
    timeline = reverse("admin:media_sync_auditevent_timeline", args=["workorder", "4100001"])
    assert f'<a href="{timeline}" class="timeline-link">Timeline</a>' in page


def test_a_long_message_is_cut_on_the_list_and_whole_in_its_title(client: Client) -> None:
    message = "RecoveryConnect answered fail: " + "the destination order is closed and locked " * 4
    _event(message=message)
    login(client, "leo", "Team leads")
    page = client.get(AUDIT).text
    assert f'<span title="{message}">{message[:89]}…</span>' in page


def test_the_operation_filter_says_each_operation_in_words(client: Client) -> None:
    _event(operation="upload_attachment", kind=AuditKind.HTTP, message="the call")
    _event(operation="cp_upload", message="the job's result")
    login(client, "leo", "Team leads")
    page = client.get(AUDIT, {"operation__exact": "upload_attachment"})
    assert [event.message for event in page.context["cl"].result_list] == ["the call"]
    assert "upload attachment (job)" in page.text and "upload attachment (call)" in page.text
    assert "webhook: attachment added" in page.text and "cp upload" not in page.text


def test_display_words_fall_back_to_the_stored_value_and_a_cut_list_is_counted_as_at_least() -> None:
    from media_sync.admin import display

    assert display.operation_words("transfer_photo") == "transfer photo"
    assert display.operation_words("rc_unheard_of") == "rc_unheard_of"  # not in the table: as stored
    assert display.subject_short("order 57076503") == "order 57076503"
    assert display.subject_short("property NT7, property NT8") == "2 properties"
    # job_create keeps 200 characters of a long list: the last one may be cut, so "at least".
    cut = ", ".join(f"work order {4100001 + n}" for n in range(20))[:200]
    assert display.subject_short(cut) == "10+ work orders"
