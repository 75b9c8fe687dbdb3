"""Write-ahead exchanges: a request row is committed before each HTTP request leaves (with the claim
it follows, in one transaction), its answer row links it, and the sweep's hand-back links a request
that never got an answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.corrigopro.simulator import CorrigoProSimulator
from integrations.http import Exchange, OutgoingRequest
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults, SimRequest, serve
from media_sync.db import set_audit_locked
from media_sync.models import AuditEvent, AuditKind, ItemStatus, JobStatus, TransferItem, TransferJob
from media_sync.services.audit import ExchangeRecorder
from media_sync.services.claims import job_claim
from media_sync.services.corrigopro import cp_sync_start
from media_sync.services.jobs import jobs_sweep_stale
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from tests.media_sync.clusters import TaggedDoor
from tests.media_sync.factories import exchanges, login, order_on_both_sides

pytestmark = pytest.mark.django_db


def _transfer_job(rc_sim: RecoveryConnectSimulator, photos: list[int]) -> TransferJob:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, photos)
    rc_sim.add_order(57076502, 9100002)
    return rc_transfer_photos_start(
        photos=list(order.photos.all()), destinations=[9100002], triggered_by="ann", enqueue=False
    )


def test_each_answer_links_the_request_row_written_before_it(rc_sim: RecoveryConnectSimulator) -> None:
    job = _transfer_job(rc_sim, [1, 2])

    job_run(job_id=job.pk)

    rows = list(AuditEvent.objects.filter(kind__in=(AuditKind.REQUEST, AuditKind.HTTP)).order_by("id"))
    # The login, then one transfer per photo: each a request row, then its answer.
    assert [(row.kind, row.operation, row.item) for row in rows] == [
        ("request", "auth", "1"),
        ("http", "auth", "1"),
        ("request", "transfer_photo", "1"),
        ("http", "transfer_photo", "1"),
        ("request", "transfer_photo", "2"),
        ("http", "transfer_photo", "2"),
    ]
    for request, answer in zip(rows[::2], rows[1::2], strict=True):
        assert answer.request_id == request.pk
        assert (request.method, request.path, request.attempt) == (answer.method, answer.path, answer.attempt)
        assert request.request_summary == answer.request_summary
        assert request.outcome == "pending" and request.http_status is None and request.job_id == job.pk
    assert '"transfer_to"' in rows[2].request_summary


def test_each_retried_attempt_has_its_own_request_row(rc_sim: RecoveryConnectSimulator) -> None:
    job = _transfer_job(rc_sim, [1])
    rc_sim.faults = Faults(rate_limit_burst=1, retry_after_s=0)  # the first request (the login): a 429

    job_run(job_id=job.pk)

    logins = AuditEvent.objects.filter(operation="auth").order_by("id")
    assert list(logins.values_list("kind", "attempt", "http_status")) == [
        ("request", 1, None),
        ("http", 1, 429),
        ("request", 2, None),
        ("http", 2, 200),
    ]
    first_request, first, second_request, second = logins
    assert (first.request_id, second.request_id) == (first_request.pk, second_request.pk)


@pytest.fixture
def committing(transactional_db: None) -> Iterator[None]:
    """A test whose transactions really commit; afterwards the database is emptied, audit rows included
    (as after a live-server test: see media_sync/db.py)."""
    yield
    set_audit_locked(False)


def test_the_request_row_joins_the_claims_transaction_and_is_committed_before_the_request_leaves(
    committing: None, rc_sim: RecoveryConnectSimulator, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """In a run on PostgreSQL, the claim's transaction stays open until the request row: one commit for
    both. What the provider's door sees, through a connection of its own, is the claim and the request
    row committed."""
    job = _transfer_job(rc_sim, [1])
    seen_at_door: list[tuple[str, bool, str]] = []

    def look(request: SimRequest) -> bool:
        if request.method == "PUT":
            try:  # this runs in the server's thread: its own database connection
                row = AuditEvent.objects.filter(kind=AuditKind.REQUEST, method="PUT").first()
                item = TransferItem.objects.get(job=job, item="1")
                seen_at_door.append((item.status, row is not None, row.path if row else ""))
            finally:
                connections.close_all()
        return False

    in_claim: list[tuple[str, bool]] = []
    before_send = ExchangeRecorder.before_send

    def noting(recorder: ExchangeRecorder, request: Any) -> None:
        in_claim.append((request.operation, connection.in_atomic_block))
        before_send(recorder, request)

    monkeypatch.setattr(ExchangeRecorder, "before_send", noting)
    with serve(TaggedDoor(rc_sim, "rc", [], hold=look)) as door:
        settings.RECOVERYCONNECT = {**settings.RECOVERYCONNECT, "BASE_URL": door.url}
        job_run(job_id=job.pk)

    # The login is the first request after the claim: on PostgreSQL its row went into the claim's open
    # transaction (SQLite commits the claim at once: one write lock for the whole file); the transfer's
    # row came after that commit, on its own.
    joins_claim = connection.vendor == "postgresql"
    assert in_claim == [("auth", joins_claim), ("transfer_photo", False)]
    assert seen_at_door == [(ItemStatus.IN_PROGRESS, True, "/api/v130/orders/57076503/photos/1")]
    assert TransferJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED


def _claimed_and_gone_quiet(job: TransferJob, item: str) -> TransferItem:
    claimed = job_claim(items=job.items.filter(item=item))[0]
    TransferItem.objects.filter(pk=claimed.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    claimed.refresh_from_db()
    return claimed


def test_the_sweep_links_the_request_its_worker_sent_and_never_heard_back_from(
    rc_sim: RecoveryConnectSimulator,
) -> None:
    job = _transfer_job(rc_sim, [1, 2])
    claimed = _claimed_and_gone_quiet(job, "1")
    # The worker wrote what it was about to send, sent it, and died: no answer row.
    recorder = ExchangeRecorder(job=job)
    recorder.about(item="1", destination="9100002")
    recorder.before_send(
        OutgoingRequest(
            provider="recoveryconnect",
            operation="transfer_photo",
            method="PUT",
            path="/api/v130/orders/57076503/photos/1",
            attempt=1,
            request_summary="{}",
        )
    )
    sent = recorder.sent
    assert sent is not None and claimed.claimed_at is not None

    jobs_sweep_stale()

    handed_back = AuditEvent.objects.filter(kind=AuditKind.ITEM, outcome="pending", item="1").get()
    assert handed_back.request_id == sent.pk
    assert handed_back.message == (
        "handed back to the queue: its worker went quiet after a request went out "
        "(PUT /api/v130/orders/57076503/photos/1, no answer recorded)"
    )


def test_the_sweep_says_no_request_went_out_when_none_was_written(rc_sim: RecoveryConnectSimulator) -> None:
    job = _transfer_job(rc_sim, [1, 2])
    _claimed_and_gone_quiet(job, "1")

    jobs_sweep_stale()

    handed_back = AuditEvent.objects.filter(kind=AuditKind.ITEM, outcome="pending", item="1").get()
    assert handed_back.request_id is None
    assert handed_back.message.endswith("went quiet before any request for it went out")


def test_an_answered_request_is_not_taken_for_the_unanswered_one(rc_sim: RecoveryConnectSimulator) -> None:
    """Photo 1's first claim got its answer (a 503); the worker then went quiet before trying again."""
    job = _transfer_job(rc_sim, [1])
    _claimed_and_gone_quiet(job, "1")
    recorder = ExchangeRecorder(job=job)
    recorder.about(item="1", destination="9100002")
    request = OutgoingRequest("recoveryconnect", "transfer_photo", "PUT", "/p/1", 1, "{}")
    recorder.before_send(request)
    recorder(Exchange("recoveryconnect", "transfer_photo", "PUT", "/p/1", 1, "{}", 503, "", 5, None))

    jobs_sweep_stale()

    handed_back = AuditEvent.objects.filter(kind=AuditKind.ITEM, outcome="pending", item="1").get()
    assert handed_back.request_id is None and "before any request" in handed_back.message


def test_no_secret_reaches_a_request_row(
    rc_sim: RecoveryConnectSimulator,
    cp_sim: CorrigoProSimulator,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The logins' request rows are written before anything is known of the answer: the password and the
    client secret they carry are redacted like every exchange row's, and so is the bearer token."""
    rc_password, cp_secret = "rc-pass-5b0e1f9c2d", "cp-secret-8a7d3e6f41"
    monkeypatch.setattr(rc_sim, "password", rc_password)
    monkeypatch.setattr(cp_sim, "client_secret", cp_secret)
    settings.RECOVERYCONNECT = {**settings.RECOVERYCONNECT, "PASSWORD": rc_password}
    settings.CORRIGOPRO = {**settings.CORRIGOPRO, "CLIENT_SECRET": cp_secret}
    cp_sim.add_work_order(4242)
    job_run(job_id=_transfer_job(rc_sim, [1]).pk)
    job_run(job_id=cp_sync_start(work_order_ids=[4242], triggered_by="ann", enqueue=False).pk)

    requests = AuditEvent.objects.filter(kind=AuditKind.REQUEST)
    logins = requests.filter(operation="auth")
    assert set(logins.values_list("provider", flat=True)) == {"recoveryconnect", "corrigopro"}
    # Both tokens were issued and used for the calls that followed, each with its own request row.
    secrets = [rc_password, cp_secret, *rc_sim.tokens, *cp_sim.tokens]
    assert len(secrets) == 4 and requests.exclude(operation="auth").count() >= 2
    texts = [" ".join(row) for row in requests.values_list("request_summary", "response_summary", "path")]
    assert [secret for secret in secrets for text in texts if secret in text] == []
    # The scan can fail: the password field is there, its value replaced.
    rc_login = logins.get(provider="recoveryconnect").request_summary
    assert "password" in rc_login.lower() and "[redacted]" in rc_login


# --- The audit list ------------------------------------------------------------------------------------


AUDIT = "/admin/media_sync/auditevent/"


def test_the_list_pairs_each_request_with_its_answer_and_finds_the_unanswered(client: Client) -> None:
    login(client, "leo", "Team leads")
    answered = exchanges(2)
    cut_off = exchanges(1, answered=False)[0]

    everything = client.get(AUDIT).content.decode()
    paired = client.get(AUDIT, {"exchanges": "paired"}).content.decode()
    unanswered = client.get(AUDIT, {"exchanges": "unanswered"}).content.decode()

    # Every row: 2 answers, their 2 requests and the cut-off request.
    assert everything.count("about to send PUT") == 3
    # Paired: the answers, each showing its request; and the request nobody answered.
    assert paired.count("about to send PUT") == 1
    for request in answered:
        link = f'href="{AUDIT}{request.pk}/change/"'
        assert paired.count(link) == 1 and f"request #{request.pk} at" in paired
    assert unanswered.count("about to send PUT") == 1 and f"{AUDIT}{cut_off.pk}/change/" in unanswered
    assert "request #" not in unanswered  # no answer row among them


def test_an_answers_page_links_its_request_row(client: Client) -> None:
    login(client, "leo", "Team leads")
    request = exchanges(1)[0]
    answer = AuditEvent.objects.get(kind=AuditKind.HTTP)

    page = client.get(f"{AUDIT}{answer.pk}/change/").content.decode()

    assert "Request row:" in page and f'href="{AUDIT}{request.pk}/change/"' in page


def test_the_lists_query_count_does_not_grow_with_the_exchanges_it_shows(client: Client) -> None:
    login(client, "leo", "Team leads")
    exchanges(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(AUDIT).status_code == 200
    exchanges(30)
    with CaptureQueriesContext(connection) as many:
        assert client.get(AUDIT).status_code == 200
    assert AuditEvent.objects.count() == 64
    assert len(many.captured_queries) == len(few.captured_queries)
