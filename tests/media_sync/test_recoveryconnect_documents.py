"""RecoveryConnect documents from command or admin to recorded result, against the simulator over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from integrations.errors import FailureClass
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults
from media_sync.models import (
    AuditEvent,
    AuditKind,
    ItemStatus,
    JobStatus,
    RecoveryConnectDocument,
    RecoveryConnectOrder,
    TransferJob,
)
from media_sync.services.jobs import job_retry_failed
from media_sync.services.recoveryconnect_documents import (
    rc_documents_refresh_start,
    rc_transfer_documents_start,
)
from media_sync.services.refusals import InputRefused
from media_sync.services.run import job_run
from tests.media_sync.factories import login, order_on_both_sides, run_command

pytestmark = pytest.mark.django_db

ORDERS = reverse("admin:media_sync_recoveryconnectorder_changelist")
DOCUMENTS = {7300001: "condition-report.pdf", 7300002: "release-form.pdf", 7300003: "keys-receipt.pdf"}


def run(job: TransferJob) -> TransferJob:
    job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def results(job: TransferJob) -> dict[tuple[str, str], tuple[str, str]]:
    return {(i.item, i.destination): (i.status, i.provider_status) for i in job.items.all()}


@pytest.fixture
def source(rc_sim: RecoveryConnectSimulator) -> RecoveryConnectOrder:
    """Order 57076503 with three documents at RecoveryConnect, mirrored here; three more orders on both sides,
    9100011 closed."""
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [])
    for n, (document_id, name) in enumerate(DOCUMENTS.items()):
        rc_sim.add_document(
            57076503,
            name,
            ["Dana Whitfield", "Marco Ruiz", "Priya Nair"][n],
            id=document_id,
            created_at=f"2026-11-0{n + 1} 10:15:00",
        )
    order_on_both_sides(rc_sim, 57076502, 9100002, [])
    order_on_both_sides(rc_sim, 57076510, 9100010, [])
    order_on_both_sides(rc_sim, 57076511, 9100011, [], closed=True)
    run(rc_documents_refresh_start(order_ids=[57076503], triggered_by="ann"))
    return order


# --- Refresh ---------------------------------------------------------------------------------------------


def test_sync_mirrors_name_uploader_and_time_and_never_stores_the_link(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    rows = list(RecoveryConnectDocument.objects.order_by("document_id").values())
    assert [(r["document_id"], r["name"], r["uploaded_by"], r["uploaded_at"]) for r in rows] == [
        (7300001, "condition-report.pdf", "Dana Whitfield", datetime(2026, 11, 1, 10, 15, tzinfo=UTC)),
        (7300002, "release-form.pdf", "Marco Ruiz", datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
        (7300003, "keys-receipt.pdf", "Priya Nair", datetime(2026, 11, 3, 10, 15, tzinfo=UTC)),
    ]
    source.refresh_from_db()
    assert source.documents_synced_at is not None
    # Neither the mirror nor the audit keeps a link's signature (the list answer's summary keeps the path).
    stored = repr(rows) + repr(list(AuditEvent.objects.values()))
    assert "signature" not in stored and "expires=" not in stored
    listing = AuditEvent.objects.get(kind=AuditKind.HTTP, operation="list_documents")
    assert "/documents/7300001.pdf?[redacted]" in listing.response_summary


def test_a_cut_off_list_answer_keeps_no_signature_in_the_audit(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    rc_sim.garbage_next = "truncated"
    job = run(rc_documents_refresh_start(order_ids=[57076503], triggered_by="ann"))
    assert job.status == JobStatus.FAILED
    row = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation="list_documents").first()
    assert row is not None and "/documents/" in row.response_summary
    assert "signature=" not in row.response_summary and "[redacted]" in row.response_summary


def test_sync_counts_new_and_removed_documents_and_deletes_the_removed(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    rc_sim.documents[57076503].pop(0)
    rc_sim.add_document(57076503, "invoice.pdf", "Dana Whitfield", id=7300009)
    job = run(rc_documents_refresh_start(order_ids=[57076503], triggered_by="ann"))
    assert job.items.get().message == "3 documents listed: 1 new, 1 removed"
    assert sorted(source.documents.values_list("document_id", flat=True)) == [7300002, 7300003, 7300009]


def test_sync_of_an_order_unknown_at_recoveryconnect_fails_with_404(rc_sim: RecoveryConnectSimulator) -> None:
    job = run(rc_documents_refresh_start(order_ids=[57079999], triggered_by="ann"))
    item = job.items.get()
    assert (job.status, item.status, item.http_status) == (JobStatus.FAILED, ItemStatus.FAILED, 404)


def test_sync_command_exit_codes_and_audited_refusal(source: RecoveryConnectOrder) -> None:
    code, out = run_command("rc_sync_documents", "--order", "57076503", "--sync")
    assert code == 0 and "57076503 -> mirror: succeeded [200] 3 documents listed: 0 new, 0 removed" in out
    code, out = run_command("rc_sync_documents", "--order", "57079999", "--sync")
    assert code == 1 and "failed [404]" in out
    with pytest.raises(CommandError, match="is not a order id") as refused:
        call_command("rc_sync_documents", "--order", "abc", "--sync")
    assert refused.value.returncode == 2
    refusal = AuditEvent.objects.get(kind=AuditKind.REFUSAL)
    assert (refusal.operation, refusal.subject) == ("rc_sync_documents", "order abc")


# --- Transfer --------------------------------------------------------------------------------------------


def test_transfer_records_one_result_per_document_and_destination(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    job = run(
        rc_transfer_documents_start(
            order=source, destinations=[9100002, 9100011, 9109999], triggered_by="ann"
        )
    )
    assert job.status == JobStatus.PARTLY_FAILED
    assert results(job) == {
        (str(d), str(dest)): ("succeeded", "success") if dest == 9100002 else ("failed", "fail")
        for d in DOCUMENTS
        for dest in (9100002, 9100011, 9109999)
    }
    failed = job.items.get(item="7300001", destination="9100011")
    assert failed.failure_class == FailureClass.PROVIDER_RULE and "document" in failed.message
    assert AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM).count() == 9
    puts = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation="transfer_documents")
    assert list(puts.values_list("item", "destination", "path")) == [
        ("all documents", "9100002,9100011,9109999", "/api/v150/orders/57076503/documents/transfer")
    ]
    assert [(t.document_id, t.dest_client_order_id) for t in rc_sim.document_transfers] == [
        (d, 9100002) for d in DOCUMENTS
    ]


def test_a_document_the_answer_leaves_out_fails_and_one_we_had_not_mirrored_gets_its_own_item(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    rc_sim.omit_document_ids = {7300002}
    rc_sim.add_document(57076503, "late.pdf", "Marco Ruiz", id=7300010)  # not refreshed here
    job = run(rc_transfer_documents_start(order=source, destinations=[9100002], triggered_by="ann"))
    left_out = job.items.get(item="7300002")
    assert (left_out.status, left_out.failure_class) == (ItemStatus.FAILED, FailureClass.PARSE)
    assert left_out.message == "RecoveryConnect's answer left out document 7300002 for order 9100002"
    extra = job.items.get(item="7300010")
    assert (extra.destination, extra.status, extra.provider_status) == ("9100002", "succeeded", "success")
    assert AuditEvent.objects.filter(job=job, kind=AuditKind.ITEM, item="7300010").count() == 1


def test_provider_5xx_is_retried_then_ends_every_item_and_a_retry_sends_again(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    rc_sim.faults = Faults(error_rate=1.0)
    job = run(rc_transfer_documents_start(order=source, destinations=[9100002], triggered_by="ann"))
    assert job.status == JobStatus.FAILED
    assert {(i.status, i.http_status in (500, 502, 503)) for i in job.items.all()} == {("failed", True)}
    attempts = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP, operation="transfer_documents")
    assert attempts.count() == 3 and rc_sim.document_transfers == []
    rc_sim.faults = Faults()
    assert job_retry_failed(job=job, enqueue=False) == 3
    job = run(job)
    assert job.status == JobStatus.SUCCEEDED and len(rc_sim.document_transfers) == 3


def test_an_unanswered_transfer_is_looked_up_at_the_destination_and_not_sent_twice(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator, settings: Any
) -> None:
    settings.MEDIA_SYNC_HTTP_TIMEOUT = (2.0, 0.5)
    # RecoveryConnect takes 0.6 s over the next call and does it; we stopped waiting at 0.5 s.
    rc_sim.faults = Faults(hang_burst=1, hang_s=0.6)
    job = run(rc_transfer_documents_start(order=source, destinations=[9100002], triggered_by="ann"))
    assert job.status == JobStatus.SUCCEEDED
    assert len(rc_sim.document_transfers) == 3
    assert {i.message for i in job.items.all()} == {
        "found in order 9100002 after an unanswered call: not sent again"
    }
    http_rows = AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP).order_by("id")
    assert [(r.operation, r.outcome, r.failure_class) for r in http_rows] == [
        ("transfer_documents", "failed", "timeout"),
        ("list_documents", "succeeded", ""),
    ]


def test_an_unanswered_transfer_to_an_order_not_mirrored_here_fails_saying_it_cannot_be_checked(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator, settings: Any
) -> None:
    rc_sim.add_order(57076520, 9100020)  # at RecoveryConnect only
    settings.MEDIA_SYNC_HTTP_TIMEOUT = (2.0, 0.5)
    rc_sim.faults = Faults(hang_burst=1, hang_s=0.6)
    job = run(rc_transfer_documents_start(order=source, destinations=[9100020], triggered_by="ann"))
    assert job.status == JobStatus.FAILED
    assert len(rc_sim.document_transfers) == 3  # the one call was carried out; nothing was sent again
    item = job.items.first()
    assert item is not None and item.unconfirmed
    assert "order 9100020 cannot be checked from here" in item.message


def test_an_unanswered_transfer_not_found_at_the_destination_is_sent_again(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator, settings: Any
) -> None:
    settings.MEDIA_SYNC_HTTP_TIMEOUT = (2.0, 0.5)
    # Seeded: the transfer's connection is cut after sending (nothing was done); the next calls go through.
    rc_sim.faults = Faults(drop_rate=0.5, seed=13)
    job = run(rc_transfer_documents_start(order=source, destinations=[9100002], triggered_by="ann"))
    assert job.status == JobStatus.SUCCEEDED
    assert len(rc_sim.document_transfers) == 3
    operations = list(
        AuditEvent.objects.filter(job=job, kind=AuditKind.HTTP)
        .order_by("id")
        .values_list("operation", flat=True)
    )
    assert operations == ["transfer_documents", "list_documents", "transfer_documents"]
    assert [e.status for e in rc_sim.log if e.method == "PUT"] == ["dropped", 200]


# --- Refusals --------------------------------------------------------------------------------------------


def test_refusals_before_any_call(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator, settings: Any
) -> None:
    empty = RecoveryConnectOrder.objects.get(order_id=57076502)
    with pytest.raises(InputRefused, match="no documents are known for order 57076502: refresh"):
        rc_transfer_documents_start(order=empty, destinations=[9100010], triggered_by="ann")
    with pytest.raises(InputRefused, match="is the source order itself"):
        rc_transfer_documents_start(order=source, destinations=[9100002, 9100001], triggered_by="ann")
    settings.MEDIA_SYNC_MAX_DESTINATIONS = 2
    with pytest.raises(InputRefused, match="at most 2"):
        rc_transfer_documents_start(
            order=source, destinations=[9100002, 9100010, 9100011], triggered_by="ann"
        )
    assert not TransferJob.objects.filter(operation="rc_transfer_documents").exists()
    assert [e for e in rc_sim.log if e.method == "PUT"] == []


def test_already_transferred_destinations_are_left_out_refused_or_sent_again(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    run(rc_transfer_documents_start(order=source, destinations=[9100002], triggered_by="ann"))
    with pytest.raises(InputRefused, match="nothing left to send"):
        rc_transfer_documents_start(order=source, destinations=[9100002], triggered_by="ann")
    # Done there: left out; 9100010 still gets them all.
    job = run(rc_transfer_documents_start(order=source, destinations=[9100002, 9100010], triggered_by="ann"))
    assert {i.destination for i in job.items.all()} == {"9100010"}
    # A new document since: 9100002 holds some but not all, and the call cannot leave those out.
    rc_sim.add_document(57076503, "invoice.pdf", "Dana Whitfield", id=7300009)
    run(rc_documents_refresh_start(order_ids=[57076503], triggered_by="ann"))
    with pytest.raises(InputRefused, match="cannot leave those out"):
        rc_transfer_documents_start(order=source, destinations=[9100002], triggered_by="ann")
    again = run(
        rc_transfer_documents_start(order=source, destinations=[9100002], again=True, triggered_by="ann")
    )
    assert again.items.count() == 4 and again.status == JobStatus.SUCCEEDED


def test_transfer_command_exit_codes_skips_and_audited_refusals(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    code, out = run_command("rc_transfer_documents", "--order", "57076503", "--to", "9100002", "--sync")
    assert code == 0 and out.count("succeeded [success]") == 3
    code, out = run_command(
        "rc_transfer_documents", "--order", "57076503", "--to", "9100002", "--to", "9100011", "--sync"
    )
    assert code == 1
    assert "all documents -> 9100002: skipped, every document already transferred there" in out
    assert out.count("-> 9100011: failed [fail]") == 3
    for args, message in (
        (["--to", "9100002"], "nothing left to send"),
        (["--to", "9100001"], "is the source order itself"),
        (["--to", "x"], "is not a client order id"),
    ):
        with pytest.raises(CommandError, match=message) as refused:
            call_command("rc_transfer_documents", "--order", "57076503", *args, "--sync")
        assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="order 57079999 is not mirrored here"):
        call_command("rc_transfer_documents", "--order", "57079999", "--to", "9100002", "--sync")
    refusals = AuditEvent.objects.filter(kind=AuditKind.REFUSAL).order_by("id")
    assert [(r.operation, r.subject, r.item) for r in refusals] == [
        ("rc_transfer_documents", "order 57076503", "all documents"),
        ("rc_transfer_documents", "order 57076503", "all documents"),
        ("rc_transfer_documents", "order 57076503", "all documents"),
        ("rc_transfer_documents", "order 57079999", "all documents"),
    ]
    code, out = run_command(
        "rc_transfer_documents", "--order", "57076503", "--to", "9100002", "--again", "--sync"
    )
    assert code == 0 and len(rc_sim.document_transfers) == 6


# --- Admin -----------------------------------------------------------------------------------------------


def test_order_page_lists_documents_and_the_documents_list_searches_by_order(
    client: Client, source: RecoveryConnectOrder
) -> None:
    login(client, "leo", "Team leads")
    page = client.get(reverse("admin:media_sync_recoveryconnectorder_change", args=[source.pk]))
    assert page.status_code == 200
    assert "release-form.pdf" in page.text and "Marco Ruiz" in page.text
    listing = client.get(reverse("admin:media_sync_recoveryconnectdocument_changelist"), {"q": "57076503"})
    assert listing.status_code == 200 and listing.context["cl"].result_count == 3
    assert (
        client.get(reverse("admin:media_sync_recoveryconnectdocument_changelist"), {"q": "9100002"})
        .context["cl"]
        .result_count
        == 0
    )


def test_operator_transfers_documents_from_the_admin_and_a_team_lead_cannot(
    client: Client,
    source: RecoveryConnectOrder,
    rc_sim: RecoveryConnectSimulator,
    django_capture_on_commit_callbacks: Any,
) -> None:
    chosen = {"action": "transfer_documents", "_selected_action": [source.pk]}
    login(client, "leo", "Team leads")
    refused = client.post(ORDERS, {**chosen, "apply": "1", "destinations": "9100002"})
    assert not TransferJob.objects.filter(operation="rc_transfer_documents").exists()
    assert refused.status_code in (200, 302, 403)
    operator = Client()
    login(operator, "olga", "Operators")
    form = operator.post(ORDERS, chosen)
    assert form.status_code == 200 and "none can be left out" in form.text and "keys-receipt.pdf" in form.text
    with django_capture_on_commit_callbacks(execute=True):
        started = operator.post(ORDERS, {**chosen, "apply": "1", "destinations": "9100002"})
    job = TransferJob.objects.get(operation="rc_transfer_documents")
    assert started["Location"] == reverse("admin:media_sync_transferjob_change", args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.triggered_by == "olga" and job.items.count() == 3
    # Again without "send again": refused on the form, and the refusal is in the audit.
    again = operator.post(ORDERS, {**chosen, "apply": "1", "destinations": "9100002"})
    assert again.status_code == 200 and "nothing left to send" in again.text
    refusal = AuditEvent.objects.get(kind=AuditKind.REFUSAL)
    assert (refusal.operation, refusal.triggered_by, refusal.item) == (
        "rc_transfer_documents",
        "olga",
        "all documents",
    )
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(ORDERS, {**chosen, "apply": "1", "destinations": "9100002", "again": "on"})
    assert len(rc_sim.document_transfers) == 6


def test_operator_refreshes_documents_from_the_admin(
    client: Client,
    source: RecoveryConnectOrder,
    rc_sim: RecoveryConnectSimulator,
    django_capture_on_commit_callbacks: Any,
) -> None:
    rc_sim.documents[57076503].pop()
    login(client, "olga", "Operators")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ORDERS, {"action": "refresh_documents", "_selected_action": [source.pk]})
    assert response.status_code == 302
    assert source.documents.count() == 2


def test_a_document_has_its_own_timeline_and_the_order_timeline_shows_its_transfers(
    client: Client, source: RecoveryConnectOrder
) -> None:
    run(rc_transfer_documents_start(order=source, destinations=[9100002], triggered_by="ann"))
    login(client, "leo", "Team leads")
    document = RecoveryConnectDocument.objects.get(document_id=7300002)
    timeline = reverse("admin:media_sync_auditevent_timeline", args=["document", "7300002"])
    page = client.get(reverse("admin:media_sync_recoveryconnectdocument_change", args=[document.pk]))
    assert f'<a href="{timeline}" class="timeline-link">Timeline</a>' in page.text
    rows = client.get(timeline).context["rows"]
    assert [(r["event"].operation, r["event"].destination) for r in rows] == [
        ("rc_transfer_documents", "9100002")
    ]
    order_rows = client.get(reverse("admin:media_sync_auditevent_timeline", args=["order", "57076503"]))
    items = {r["event"].item for r in order_rows.context["rows"]}
    assert {"7300001", "7300002", "7300003", "all documents", "57076503"} <= items
