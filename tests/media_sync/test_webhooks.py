"""CorrigoPro webhooks: authenticated, stored once per MessageId, processed in a task, all in the audit."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client, TestCase

from integrations.corrigopro.simulator import CorrigoProSimulator
from integrations.corrigopro.webhook_auth import sign_token
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoAttachment,
    CorrigoWorkOrder,
    Operation,
    WebhookDelivery,
    WebhookStatus,
)
from tests.media_sync.factories import attachment_added, webhook_body

pytestmark = pytest.mark.django_db
URL = "/webhooks/corrigopro/"


def token(sim: CorrigoProSimulator, **claims: Any) -> str:
    now = int(time.time())
    values = {"aud": "CorrigoProDirect", "iat": now, "exp": now + 1200} | claims
    return "Bearer " + sign_token(values, private_key=sim.private_key)


def post(
    client: Client,
    sim: CorrigoProSimulator,
    payload: Any,
    *,
    auth: str | None = "valid",
    event: str = "AttachmentAdded",
) -> Any:
    headers = {"Event-Type": event}
    if auth == "valid":
        headers["Authorization"] = token(sim)
    elif auth is not None:
        headers["Authorization"] = auth
    data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    # The processing task is queued on commit; a test's transaction never commits, so run it here.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(URL, data=data, content_type="application/json", headers=headers)


def test_attachment_added_is_stored_processed_and_audited(
    client: Client, cp_sim: CorrigoProSimulator
) -> None:
    response = post(client, cp_sim, attachment_added())
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookStatus.PROCESSED and delivery.event_type == "AttachmentAdded"
    attachment = CorrigoAttachment.objects.get()
    assert (attachment.name, attachment.size, attachment.added_by, attachment.work_order.work_order_id) == (
        "leak.jpg",
        1234,
        "customer",
        1001,
    )
    rows = AuditEvent.objects.filter(kind=AuditKind.WEBHOOK).order_by("id")
    assert [(r.outcome, r.provider_status) for r in rows] == [
        ("pending", "received"),
        ("succeeded", "processed"),
    ]
    assert rows[0].reference == delivery.message_id and rows[0].item == attachment.attachment_id


def test_the_same_delivery_twice_is_applied_once(client: Client, cp_sim: CorrigoProSimulator) -> None:
    payload = attachment_added(message_id="msg-1")
    assert post(client, cp_sim, payload).status_code == 200
    again = post(client, cp_sim, payload)
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    delivery = WebhookDelivery.objects.get()
    assert delivery.deliveries == 2
    assert CorrigoAttachment.objects.count() == 1
    assert AuditEvent.objects.filter(provider_status="duplicate").count() == 1


def test_removed_before_added_leaves_the_attachment_removed(
    client: Client, cp_sim: CorrigoProSimulator
) -> None:
    attachment_id = "6f1c2a4e-0000-4000-8000-000000000009"
    post(
        client,
        cp_sim,
        webhook_body("AttachmentRemoved", AttachmentId=attachment_id),
        event="AttachmentRemoved",
    )
    post(client, cp_sim, attachment_added(attachment_id))
    attachment = CorrigoAttachment.objects.get()
    assert attachment.removed_at is not None
    last = AuditEvent.objects.filter(kind=AuditKind.WEBHOOK).order_by("id").last()
    assert last is not None and "already removed" in last.message


def test_new_work_order_brings_its_status_and_attachments(
    client: Client, cp_sim: CorrigoProSimulator
) -> None:
    payload = webhook_body(
        "NewWorkOrder",
        work_order_id=2002,
        WorkOrder={"Id": 2002, "Status": "New"},
        Attachments=[
            {
                "AttachmentId": "6f1c2a4e-0000-4000-8000-00000000000a",
                "Name": "leak.pdf",
                "MimeType": "application/pdf",
                "Size": 10,
            }
        ],
    )
    assert post(client, cp_sim, payload, event="NewWorkOrder").status_code == 200
    assert CorrigoWorkOrder.objects.get(work_order_id=2002).status == "New"
    assert CorrigoAttachment.objects.get().name == "leak.pdf"


def test_an_event_without_what_it_needs_is_stored_and_marked_failed(
    client: Client, cp_sim: CorrigoProSimulator
) -> None:
    response = post(client, cp_sim, webhook_body("AttachmentAdded", Name="leak.jpg"))
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    delivery = WebhookDelivery.objects.get()
    reason = "could not apply: MalformedWebhook('AttachmentAdded: the body has no AttachmentId')"
    assert (delivery.status, delivery.error) == (WebhookStatus.FAILED, reason)
    row = AuditEvent.objects.filter(kind=AuditKind.WEBHOOK).order_by("id").last()
    assert row is not None and (row.outcome, row.failure_class, row.message) == ("failed", "parse", reason)
    assert not CorrigoAttachment.objects.exists()


def test_an_unknown_event_is_stored_and_acknowledged(client: Client, cp_sim: CorrigoProSimulator) -> None:
    assert post(client, cp_sim, webhook_body("WorkOrderPaused"), event="WorkOrderPaused").status_code == 200
    assert WebhookDelivery.objects.get().status == WebhookStatus.IGNORED


def test_an_event_type_we_do_not_know_is_audited_under_one_operation_and_named_in_the_message(
    client: Client, cp_sim: CorrigoProSimulator
) -> None:
    """The sender picks the Event-Type: it never becomes an operation the Operation filter cannot list."""
    post(client, cp_sim, webhook_body("WorkOrderPaused"), event="WorkOrderPaused")
    post(client, cp_sim, webhook_body("AttachmentAdded"), event="AttachmentAdded", auth=None)
    rows = AuditEvent.objects.filter(kind=AuditKind.WEBHOOK).order_by("id")
    assert {row.operation for row in rows} <= {*Operation.values}
    paused = [row for row in rows if row.operation == Operation.WEBHOOK_OTHER]
    assert paused and all("(event type 'WorkOrderPaused')" in row.message for row in paused)
    post(client, cp_sim, webhook_body("X"), event="=cmd|' /C calc'!A0", auth=None)  # not repeated
    hostile = rows.last()
    assert hostile is not None and hostile.message == "webhook refused: missing token (event type not a name)"
    last = rows.filter(operation=Operation.WEBHOOK_ATTACHMENT_ADDED).last()
    assert last is not None and last.operation == Operation.WEBHOOK_ATTACHMENT_ADDED  # refused unsigned


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        (None, "missing token"),
        ("Basic dXNlcjpwYXNz", "malformed token"),
        ("Bearer not-a-token", "malformed token"),
        ("expired", "expired"),
        ("wrong-audience", "wrong audience"),
        ("other-key", "bad signature"),
    ],
)
def test_a_bad_token_is_refused_with_401_and_recorded(
    client: Client, cp_sim: CorrigoProSimulator, auth: str | None, reason: str
) -> None:
    now = int(time.time())
    if auth == "expired":
        auth = token(cp_sim, iat=now - 3600, exp=now - 2400)
    elif auth == "wrong-audience":
        auth = token(cp_sim, aud="SomebodyElse")
    elif auth == "other-key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        auth = "Bearer " + sign_token(
            {"aud": "CorrigoProDirect", "iat": now, "exp": now + 600}, private_key=other
        )
    response = post(client, cp_sim, attachment_added(), auth=auth)
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists() and not CorrigoAttachment.objects.exists()
    row = AuditEvent.objects.get(kind=AuditKind.WEBHOOK)
    assert (row.outcome, row.http_status, row.failure_class) == ("failed", 401, "auth")
    assert reason in row.message
    if auth:
        assert auth.split(" ", 1)[-1] not in row.message


@pytest.mark.parametrize(
    "payload", [b"not json at all", b'{"Header": {}}', b"[1, 2]", b'{"AttachmentId": "x"}']
)
def test_a_body_without_json_or_message_id_is_refused_with_400(
    client: Client, cp_sim: CorrigoProSimulator, payload: bytes
) -> None:
    response = post(client, cp_sim, payload)
    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()
    assert AuditEvent.objects.get(kind=AuditKind.WEBHOOK).http_status == 400


def test_only_post_is_accepted_and_no_csrf_token_is_needed(cp_sim: CorrigoProSimulator) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.get(URL).status_code == 405
    assert post(client, cp_sim, attachment_added()).status_code == 200


def test_an_oversized_body_is_refused_unread(
    client: Client, cp_sim: CorrigoProSimulator, settings: Any
) -> None:
    settings.WEBHOOK_MAX_BYTES = 100
    assert post(client, cp_sim, attachment_added()).status_code == 413
    assert not WebhookDelivery.objects.exists()


def test_the_simulators_customer_reaches_the_app_over_http(
    live_app: Any, cp_sim: CorrigoProSimulator
) -> None:
    cp_sim.add_work_order(1001, status="Accepted")
    cp_sim.webhook_url = live_app.url + URL
    attachment = cp_sim.customer_add_attachment(1001, name="water-damage.jpg")
    assert cp_sim.deliveries[-1].status == 200
    assert CorrigoAttachment.objects.get(attachment_id=attachment.id).name == "water-damage.jpg"
    cp_sim.redeliver(len(cp_sim.deliveries) - 1)  # CorrigoPro retries: the same MessageId again
    assert cp_sim.deliveries[-1].status == 200
    assert WebhookDelivery.objects.get().deliveries == 2
    cp_sim.customer_remove_attachment(1001, attachment.id)
    assert CorrigoAttachment.objects.get(attachment_id=attachment.id).removed_at is not None


def test_an_unreadable_certificate_answers_503_so_corrigopro_retries(
    client: Client, cp_sim: CorrigoProSimulator, settings: Any, tmp_path: Any
) -> None:
    broken = tmp_path / "broken.pem"
    broken.write_text("not a certificate")
    settings.CORRIGOPRO = {**settings.CORRIGOPRO, "WEBHOOK_CERTIFICATE": str(broken)}
    assert post(client, cp_sim, attachment_added()).status_code == 503
    assert AuditEvent.objects.get(kind=AuditKind.WEBHOOK).http_status == 503
