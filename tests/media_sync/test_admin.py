"""The operators' and team leads' admin, through the test client, per role."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.admin import base as admin_base
from media_sync.models import AuditEvent, AuditKind, ItemStatus, JobStatus, RecoveryConnectOrder, TransferJob
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from tests.media_sync.factories import login, order_on_both_sides

pytestmark = pytest.mark.django_db

PHOTOS = reverse("admin:media_sync_recoveryconnectphoto_changelist")
ORDERS = reverse("admin:media_sync_recoveryconnectorder_changelist")
JOBS = reverse("admin:media_sync_transferjob_changelist")
AUDIT = reverse("admin:media_sync_auditevent_changelist")
EXPORT = reverse("admin:media_sync_auditevent_export")


@pytest.fixture
def source(rc_sim: RecoveryConnectSimulator) -> RecoveryConnectOrder:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [180461378, 180461379, 180461380])
    rc_sim.add_order(57076502, 9100002)
    rc_sim.add_order(57076510, 9100010)
    return order


def job_page(job: TransferJob) -> str:
    return reverse("admin:media_sync_transferjob_change", args=[job.pk])


def test_operator_transfers_three_photos_to_two_orders_and_watches_the_job(
    operator: Client, source: RecoveryConnectOrder, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    ids = [str(pk) for pk in source.photos.values_list("pk", flat=True)]
    form = operator.post(PHOTOS, {"action": "transfer_photos", "_selected_action": ids})
    assert form.status_code == 200
    assert "Destination client order ids" in form.text and "180461379" in form.text

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = operator.post(
            PHOTOS,
            {
                "action": "transfer_photos",
                "_selected_action": ids,
                "apply": "1",
                "destinations": "9100002, 9100010",
            },
        )
    job = TransferJob.objects.get()
    assert started.status_code == 302 and started["Location"] == job_page(job)

    running = operator.get(job_page(job))
    assert "data-progress-url" in running.text and "0 of 6" in running.text

    for callback in callbacks:
        callback()  # the enqueue; tasks run in-process in tests
    finished = operator.get(job_page(job))
    assert "data-progress-url" not in finished.text
    assert "6 of 6" in finished.text and "Succeeded" in finished.text
    assert finished.text.count('class="item-status item-status-succeeded"') == 6
    assert finished.text.count(">success</td>") == 6
    assert set(AuditEvent.objects.filter(kind=AuditKind.ITEM).values_list("triggered_by", flat=True)) == {
        "olga"
    }


@pytest.mark.parametrize(
    ("destinations", "error"),
    [
        ("", "This field is required"),
        ("abc", "is not a client order id"),
        ("-3", "is not a client order id"),
        ("9100001", "is the source order itself"),
    ],
)
def test_transfer_form_refuses_bad_destinations_and_writes_nothing(
    operator: Client, source: RecoveryConnectOrder, destinations: str, error: str
) -> None:
    ids = [str(pk) for pk in source.photos.values_list("pk", flat=True)]
    response = operator.post(
        PHOTOS,
        {"action": "transfer_photos", "_selected_action": ids, "apply": "1", "destinations": destinations},
    )
    assert response.status_code == 200 and error in response.text
    assert not TransferJob.objects.exists()
    refusal = AuditEvent.objects.get(kind=AuditKind.REFUSAL)
    assert (refusal.operation, refusal.outcome, refusal.triggered_by) == (
        "rc_transfer_photos",
        "failed",
        "olga",
    )
    assert error in refusal.message


def test_operator_transfers_all_photos_of_one_order(
    operator: Client, source: RecoveryConnectOrder, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            ORDERS,
            {
                "action": "transfer_all_photos",
                "_selected_action": [source.pk],
                "apply": "1",
                "destinations": "9100002",
            },
        )
    job = TransferJob.objects.get()
    assert response["Location"] == job_page(job)
    job.refresh_from_db()
    assert job.operation == "rc_transfer_all" and job.status == JobStatus.SUCCEEDED
    assert job.items.filter(status=ItemStatus.SUCCEEDED).count() == 3


def test_operator_refreshes_photos_from_recoveryconnect(
    operator: Client,
    source: RecoveryConnectOrder,
    rc_sim: RecoveryConnectSimulator,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    rc_sim.orders[57076503].photos.pop()
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(ORDERS, {"action": "refresh_photos", "_selected_action": [source.pk]})
    assert response.status_code == 302
    assert source.photos.count() == 2


def test_retry_failed_items_from_the_job_page(
    operator: Client,
    source: RecoveryConnectOrder,
    rc_sim: RecoveryConnectSimulator,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    job = rc_transfer_photos_start(
        photos=list(source.photos.all()), destinations=[9100002, 9109999], triggered_by="olga", enqueue=False
    )
    job_run(job_id=job.pk)
    page = operator.get(job_page(job))
    assert "Retry failed items (3)" in page.text
    rc_sim.add_order(57079999, 9109999)
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(reverse("admin:media_sync_transferjob_retry", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert len(rc_sim.transfers) == 6


def test_retry_failed_from_the_job_list_for_many_jobs(
    operator: Client,
    source: RecoveryConnectOrder,
    rc_sim: RecoveryConnectSimulator,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    jobs = []
    for photo in source.photos.all():
        job = rc_transfer_photos_start(
            photos=[photo], destinations=[9109999], triggered_by="olga", enqueue=False
        )
        job_run(job_id=job.pk)
        jobs.append(job)
    rc_sim.add_order(57079999, 9109999)
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            JOBS, {"action": "retry_failed", "_selected_action": [j.pk for j in jobs]}, follow=True
        )
    assert "3 failed item(s) of 3 job(s) sent again" in response.text
    assert TransferJob.objects.filter(status=JobStatus.SUCCEEDED).count() == 3


def test_team_lead_reads_and_exports_exactly_the_filtered_rows(
    lead: Client, rc_sim: RecoveryConnectSimulator, source: RecoveryConnectOrder
) -> None:
    job = rc_transfer_photos_start(
        photos=list(source.photos.all()), destinations=[9100002, 9100010], triggered_by="olga", enqueue=False
    )
    job_run(job_id=job.pk)
    listing = lead.get(AUDIT, {"kind__exact": "item"})
    assert listing.status_code == 200 and "Export CSV" in listing.text
    assert lead.get(job_page(job)).status_code == 200
    export = lead.get(EXPORT, {"kind__exact": "item", "outcome__exact": "succeeded"})
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.getvalue().decode())))
    assert len(rows) == 6
    assert {row["provider_status"] for row in rows} == {"success"}
    assert {(row["item"], row["destination"]) for row in rows} == {
        (str(p), str(d)) for p in (180461378, 180461379, 180461380) for d in (9100002, 9100010)
    }
    searched = lead.get(EXPORT, {"q": "180461379", "kind__exact": "item"})
    assert len(list(csv.DictReader(io.StringIO(searched.getvalue().decode())))) == 2


def test_team_lead_cannot_run_actions(lead: Client, source: RecoveryConnectOrder) -> None:
    ids = [str(pk) for pk in source.photos.values_list("pk", flat=True)]
    listing = lead.get(PHOTOS)
    assert listing.status_code == 200 and "transfer_photos" not in listing.text
    lead.post(
        PHOTOS,
        {"action": "transfer_photos", "_selected_action": ids, "apply": "1", "destinations": "9100002"},
    )
    lead.post(ORDERS, {"action": "refresh_photos", "_selected_action": [source.pk]})
    assert not TransferJob.objects.exists()


def test_team_lead_cannot_retry(lead: Client, source: RecoveryConnectOrder) -> None:
    job = rc_transfer_photos_start(
        photos=list(source.photos.all())[:1], destinations=[9109999], triggered_by="olga", enqueue=False
    )
    job_run(job_id=job.pk)
    assert "Retry failed items" not in lead.get(job_page(job)).text
    assert lead.post(reverse("admin:media_sync_transferjob_retry", args=[job.pk])).status_code == 403
    assert job.items.get().status == ItemStatus.FAILED


def test_operator_cannot_export(operator: Client) -> None:
    assert "Export CSV" not in operator.get(AUDIT).text
    assert operator.get(EXPORT).status_code == 403


def test_nobody_can_add_change_or_delete_audit_rows(client: Client) -> None:
    User.objects.create_superuser("root", password="x")
    client.force_login(User.objects.get(username="root"))
    event = AuditEvent.objects.create(
        kind=AuditKind.ITEM, provider="recoveryconnect", operation="x", outcome="failed", message="kept"
    )
    change = reverse("admin:media_sync_auditevent_change", args=[event.pk])
    assert client.get(reverse("admin:media_sync_auditevent_add")).status_code == 403
    client.post(change, {"message": "changed"})
    assert (
        client.post(
            reverse("admin:media_sync_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    event.refresh_from_db()
    assert event.message == "kept"
    assert 'name="message"' not in client.get(change).text


ADMIN_PAGES = [PHOTOS, ORDERS, JOBS, AUDIT, EXPORT]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_the_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_staff_without_a_role_see_nothing(client: Client, url: str) -> None:
    login(client, "sam")
    assert client.get(url).status_code == 403


def test_staff_without_a_role_cannot_open_a_job_or_retry_it(
    client: Client, source: RecoveryConnectOrder
) -> None:
    job = rc_transfer_photos_start(
        photos=list(source.photos.all())[:1], destinations=[9109999], triggered_by="olga", enqueue=False
    )
    login(client, "sam")
    assert client.get(job_page(job)).status_code == 403
    assert client.post(reverse("admin:media_sync_transferjob_retry", args=[job.pk])).status_code == 403


def test_retry_needs_a_csrf_token(source: RecoveryConnectOrder) -> None:
    client = Client(enforce_csrf_checks=True)
    login(client, "olga", "Operators")
    job = rc_transfer_photos_start(
        photos=list(source.photos.all())[:1], destinations=[9109999], triggered_by="olga", enqueue=False
    )
    assert client.post(reverse("admin:media_sync_transferjob_retry", args=[job.pk])).status_code == 403


def test_job_list_shows_progress(operator: Client, source: RecoveryConnectOrder) -> None:
    job = rc_transfer_photos_start(
        photos=list(source.photos.all()), destinations=[9100002, 9109999], triggered_by="olga", enqueue=False
    )
    job_run(job_id=job.pk)
    assert "6 of 6, 3 failed" in operator.get(JOBS).text


def test_an_action_refuses_a_selection_too_large_to_show(
    operator: Client, source: RecoveryConnectOrder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_base, "MAX_SELECTION", 2)
    ids = [str(pk) for pk in source.photos.values_list("pk", flat=True)]
    response = operator.post(PHOTOS, {"action": "transfer_photos", "_selected_action": ids}, follow=True)
    assert "Select at most 2 at a time" in response.text
    assert "Destination client order ids" not in response.text
