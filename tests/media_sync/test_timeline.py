"""A record's timeline: every audit row about it, newest first, paged, with its own CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.admin.audit import AuditEventAdmin
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoAttachment,
    CorrigoWorkOrder,
    Outcome,
    SuProperty,
    TransferJob,
)
from media_sync.selectors import audit_timeline
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from tests.media_sync.factories import login, order_on_both_sides

pytestmark = pytest.mark.django_db
HEADER = (
    "timestamp,provider,operation,job_id,subject,item,destination,outcome,provider_status,http_status,"
    "error_code,message,reference,attempt,duration_ms,triggered_by"
)
GUID = "6f1c2a3e-0b1d-4c5e-9f00-1234567890ab"


def timeline(kind: str, key: str) -> str:
    return reverse("admin:media_sync_auditevent_timeline", args=[kind, key])


def event(message: str, **fields: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "kind": AuditKind.ITEM,
        "provider": "recoveryconnect",
        "operation": "rc_transfer_photos",
        "outcome": Outcome.SUCCEEDED,
        "message": message,
    }
    return AuditEvent.objects.create(**{**values, **fields})


def messages_of(kind: str, key: str) -> set[str]:
    return set(audit_timeline(kind, key).values_list("message", flat=True))


def test_an_orders_timeline_holds_its_jobs_its_photos_and_transfers_into_it(
    rc_sim: RecoveryConnectSimulator,
) -> None:
    order_on_both_sides(rc_sim, 57076503, 9100001, [180461378, 180461379])
    event("its job", subject="order 57076503")
    event("its photo in a job about two orders", subject="order 57076503, order 57076504", item="180461379")
    event("a transfer into it", subject="order 57076510", item="180000001", destination="9100001")
    event(
        "its refresh", subject="order 57076503, order 57076504", operation="rc_sync_photos", item="57076503"
    )
    event("another order", subject="order 57076504", item="180000002", destination="9100002")
    event("a CorrigoPro row with the same id", provider="corrigopro", item="180461378", destination="9100001")

    assert messages_of("order", "57076503") == {
        "its job",
        "its photo in a job about two orders",
        "a transfer into it",
        "its refresh",
    }
    assert messages_of("photo", "180461379") == {"its photo in a job about two orders"}


def test_a_real_transfer_is_on_the_orders_and_the_photos_timelines_exchanges_included(
    rc_sim: RecoveryConnectSimulator,
) -> None:
    source = order_on_both_sides(rc_sim, 57076503, 9100001, [180461378, 180461379])
    order_on_both_sides(rc_sim, 57076502, 9100002, [])
    job = rc_transfer_photos_start(
        photos=list(source.photos.all()), destinations=[9100002], triggered_by="ann"
    )
    job_run(job_id=job.pk)

    rows = list(audit_timeline("order", "57076503"))
    assert {(row.kind, row.item) for row in rows} >= {
        (AuditKind.HTTP, "180461378"),
        (AuditKind.ITEM, "180461378"),
        (AuditKind.ITEM, "180461379"),
    }
    assert {row.triggered_by for row in rows} == {"ann"}
    assert [row.timestamp for row in rows] == sorted((row.timestamp for row in rows), reverse=True)
    photo = list(audit_timeline("photo", "180461378"))
    assert photo and {row.item for row in photo} == {"180461378"}
    # The destination order's timeline shows the transfer into it.
    assert set(audit_timeline("order", "57076502").values_list("kind", flat=True)) >= {AuditKind.ITEM}


def test_a_work_orders_timeline_holds_its_webhooks_refusals_and_attachments() -> None:
    work_order = CorrigoWorkOrder.objects.create(work_order_id=4100001)
    CorrigoAttachment.objects.create(attachment_id=GUID, work_order=work_order, name="roof.jpg")
    cp: dict[str, Any] = {"provider": "corrigopro"}
    event(
        "webhook",
        kind=AuditKind.WEBHOOK,
        subject="work order 4100001",
        operation="webhook_AttachmentAdded",
        **cp,
    )
    event("refused", kind=AuditKind.REFUSAL, subject="work order 4100001", outcome=Outcome.FAILED, **cp)
    event("upload", subject="work order 4100001", item="roof.jpg", destination="4100001", **cp)
    event("its attachment, from a sync of many", subject="work order 1, work order 2", item=GUID, **cp)
    event(
        "refresh of many",
        subject="work order 4100001, work order 2",
        operation="cp_sync",
        item="4100001",
        **cp,
    )
    event("another work order", subject="work order 4100002", item="x.jpg", destination="4100002", **cp)

    assert messages_of("workorder", "4100001") == {
        "webhook",
        "refused",
        "upload",
        "its attachment, from a sync of many",
        "refresh of many",
    }
    assert messages_of("attachment", GUID) == {"its attachment, from a sync of many"}


def test_a_propertys_timeline_and_unknown_timelines() -> None:
    SuProperty.objects.create(hotel_id="H1", channel_hotel_id="C1")
    event("batch", provider="suapi", subject="property H1", item="3 photos", destination="H1")
    event("other", provider="suapi", subject="property H2", item="3 photos", destination="H2")
    assert messages_of("property", "H1") == {"batch"}
    with pytest.raises(ValueError, match="no timeline"):
        audit_timeline("invoice", "1")
    with pytest.raises(ValueError):
        audit_timeline("order", "abc")


def test_the_page_lists_newest_first_with_who_and_links_each_row(client: Client) -> None:
    now = timezone.now()
    older = event("older", subject="order 57076503", triggered_by="ann", timestamp=now - timedelta(hours=1))
    event("newer", subject="order 57076503", triggered_by="olga", item="180461378", destination="9100002")
    login(client, "leo", "Team leads")

    page = client.get(timeline("order", "57076503"))

    assert page.status_code == 200
    text = page.text
    assert "Timeline of order 57076503" in text
    assert text.index("newer") < text.index("older")
    assert "ann" in text and "olga" in text
    assert reverse("admin:media_sync_auditevent_change", args=[older.pk]) in text
    assert timeline("photo", "180461378") in text  # the item opens its own timeline
    assert reverse("admin:media_sync_auditevent_timeline_export", args=["order", "57076503"]) in text


def test_the_page_is_paged_and_a_bad_page_shows_the_first_with_a_message(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AuditEventAdmin, "list_per_page", 2)
    now = timezone.now()
    for minute in range(5):
        event(f"row {minute}", subject="order 57076503", timestamp=now - timedelta(minutes=minute))
    login(client, "olga", "Operators")
    url = timeline("order", "57076503")

    second = client.get(url, {"p": "2"})
    assert [row["event"].message for row in second.context["rows"]] == ["row 2", "row 3"]
    assert "Page 2 of 3" in second.text
    for bad in ("-1", "abc", "99"):
        page = client.get(url, {"p": bad})
        assert page.status_code == 200
        assert f"There is no page {bad}: the first page is shown." in page.text
        assert [row["event"].message for row in page.context["rows"]] == ["row 0", "row 1"]
    assert client.get(timeline("invoice", "1")).status_code == 404
    for key in ("abc", "²", "99999999999999999999", "1\x00"):
        assert client.get(timeline("order", key)).status_code == 404, key
    assert client.get(timeline("property", "H\x00")).status_code == 404


def test_the_export_has_the_audit_columns_and_that_record_only_neutralised(client: Client) -> None:
    event('=HYPERLINK("http://evil")', subject="order 57076503", item="180461378", destination="9100002")
    event("another order", subject="order 57076504")
    login(client, "leo", "Team leads")

    answer = client.get(reverse("admin:media_sync_auditevent_timeline_export", args=["order", "57076503"]))

    assert answer.status_code == 200
    assert 'filename="timeline-order-57076503.csv"' in answer["Content-Disposition"]
    body = b"".join(answer.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body)))
    assert ",".join(rows[0]) == HEADER
    assert len(rows) == 2
    assert rows[1][rows[0].index("message")] == '\'=HYPERLINK("http://evil")'
    assert rows[1][rows[0].index("item")] == "180461378"


def test_an_operator_opens_timelines_but_exports_only_with_the_export_permission(client: Client) -> None:
    login(client, "olga", "Operators")
    assert client.get(timeline("order", "1")).status_code == 200
    export = reverse("admin:media_sync_auditevent_timeline_export", args=["order", "1"])
    assert client.get(export).status_code == 403


@pytest.mark.parametrize("rows", [20, 200])
def test_a_timeline_page_costs_the_same_queries_however_many_rows(
    client: Client, rows: int, django_assert_max_num_queries: Any, rc_sim: RecoveryConnectSimulator
) -> None:
    order_on_both_sides(rc_sim, 57076503, 9100001, [180461378, 180461379])
    job = TransferJob.objects.create(
        provider="recoveryconnect",
        operation="rc_transfer_photos",
        subject="order 57076503",
        triggered_by="ann",
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(
            kind=AuditKind.HTTP,
            provider="recoveryconnect",
            operation="transfer_photo",
            outcome=Outcome.SUCCEEDED,
            subject="order 57076503",
            item="180461378",
            destination="9100002",
            triggered_by="ann",
            job=job,
        )
        for _ in range(rows)
    )
    login(client, "leo", "Team leads")
    url = timeline("order", "57076503")
    client.get(url)  # the session and permission caches, as on any later page
    # Session, user, two permission reads, the order, its photo ids, the capped count, the page, and its
    # triage events (read once with the record's conditions).
    with django_assert_max_num_queries(9):
        page = client.get(url)
    assert len(page.context["rows"]) == min(rows, 100)


def test_each_record_page_has_a_timeline_link(client: Client, rc_sim: RecoveryConnectSimulator) -> None:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [180461378])
    work_order = CorrigoWorkOrder.objects.create(work_order_id=4100001)
    attachment = CorrigoAttachment.objects.create(attachment_id=GUID, work_order=work_order, name="roof.jpg")
    prop = SuProperty.objects.create(hotel_id="H1", channel_hotel_id="C1")
    login(client, "leo", "Team leads")
    pages = {
        ("recoveryconnectorder", order.pk): timeline("order", "57076503"),
        ("recoveryconnectphoto", order.photos.get().pk): timeline("photo", "180461378"),
        ("corrigoworkorder", work_order.pk): timeline("workorder", "4100001"),
        ("corrigoattachment", attachment.pk): timeline("attachment", GUID),
        ("suproperty", prop.pk): timeline("property", "H1"),
    }
    for (model, pk), url in pages.items():
        page = client.get(reverse(f"admin:media_sync_{model}_change", args=[pk]))
        assert page.status_code == 200
        assert f'<a href="{url}" class="timeline-link">Timeline</a>' in page.text, model


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_postgresql_reads_a_timeline_through_the_indexes() -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(
            kind=AuditKind.ITEM,
            provider="recoveryconnect",
            operation="rc_transfer_photos",
            outcome=Outcome.SUCCEEDED,
            subject=f"order {57000000 + n % 500}",
            item=str(180000000 + n),
            destination=str(9100000 + n % 300),
        )
        for n in range(20_000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE media_sync_auditevent")
    plan = audit_timeline("order", "57000007")[:100].explain()
    assert "audit_subject_recent" in plan
    # The audit is partitioned by month (audit_partitions.py): the months ahead and the DEFAULT partition
    # are empty, and the planner reads an empty table by a Seq Scan of nothing. None of a table with rows.
    assert [table for table in re.findall(r"Seq Scan on (\w+)", plan) if _has_rows(table)] == []


def _has_rows(table: str) -> bool:
    with connection.cursor() as cursor:
        # Through the audit: the runtime role has no grant on a partition itself.
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM media_sync_auditevent WHERE tableoid = %s::regclass)", [table]
        )
        return bool(cursor.fetchone()[0])


def test_a_day_range_narrows_the_page_its_links_and_its_export(client: Client) -> None:
    tuesday = timezone.make_aware(datetime(2026, 11, 24, 10, 0))
    event("tuesday", subject="order 57076503", timestamp=tuesday)
    event("wednesday", subject="order 57076503", timestamp=tuesday + timedelta(days=1))
    login(client, "leo", "Team leads")
    window = {"since": "2026-11-24", "until": "2026-11-24"}

    page = client.get(timeline("order", "57076503"), window)

    assert [row["event"].message for row in page.context["rows"]] == ["tuesday"]
    export = reverse("admin:media_sync_auditevent_timeline_export", args=["order", "57076503"])
    assert f'href="{export}?since=2026-11-24&amp;until=2026-11-24"' in page.text
    body = b"".join(client.get(export, window).streaming_content).decode()  # type: ignore[attr-defined]
    assert "tuesday" in body and "wednesday" not in body

    bad = client.get(timeline("order", "57076503"), {"since": "2026-02-30"})
    assert "Not a date: since=2026-02-30; the timeline is shown without it." in bad.text
    assert len(bad.context["rows"]) == 2
    refused = client.get(export, {"until": "abc"})
    assert refused.status_code == 302 and refused["Location"] == timeline("order", "57076503")
    assert "Not a date: until=abc. Nothing was exported." in client.get(refused["Location"]).text
