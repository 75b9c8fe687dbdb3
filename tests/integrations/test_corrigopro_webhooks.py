"""CorrigoPro webhook bodies read into typed objects: the header on receipt, the event in the worker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integrations.corrigopro.webhooks import (
    AttachmentAdded,
    AttachmentRemoved,
    EventType,
    Header,
    MalformedWebhook,
    NewWorkOrder,
    WebhookAttachment,
    named_attachment,
    parse_delivery,
    parse_event,
)

ATTACHMENT = "6f1c2a4e-0000-4000-8000-000000000001"


def encoded(body: Any) -> bytes:
    return json.dumps(body).encode()


def test_the_header_is_read_with_its_work_order_and_action() -> None:
    body = {"AttachmentId": ATTACHMENT, "Header": {"MessageId": " m-1 ", "WorkOrderId": 1001, "Action": "X"}}
    delivery = parse_delivery(encoded(body))
    assert delivery.header == Header(message_id="m-1", work_order_id=1001, action="X")
    assert delivery.body == body


@pytest.mark.parametrize("work_order_id", ["1001", 0, -5, 1.5, None])
def test_a_work_order_id_that_is_no_positive_whole_number_is_none(work_order_id: Any) -> None:
    header = parse_delivery(encoded({"Header": {"MessageId": "m", "WorkOrderId": work_order_id}})).header
    assert (header.work_order_id, header.action) == (None, "")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "JSONDecodeError"),
        (b"\xff\xfe\xff", "UnicodeDecodeError"),
        (b"[1, 2]", "TypeError"),
        (b'{"AttachmentId": "x"}', "KeyError"),
        (b'{"Header": "m-1"}', "TypeError"),
        (b'{"Header": {"MessageId": "  "}}', "ValueError"),
    ],
)
def test_a_body_without_json_or_message_id_is_malformed(body: bytes, error: str) -> None:
    with pytest.raises(MalformedWebhook) as raised:
        parse_delivery(body)
    assert str(raised.value) == f"the body is not JSON with a Header.MessageId ({error})"


def test_attachment_added_carries_the_attachment() -> None:
    body = {
        "AttachmentId": ATTACHMENT,
        "Name": "a.jpg",
        "MimeType": "image/jpeg",
        "Size": 12,
        "Subtype": "Picture",
    }
    assert parse_event("AttachmentAdded", body) == AttachmentAdded(
        WebhookAttachment(ATTACHMENT, name="a.jpg", mime_type="image/jpeg", subtype="Picture", size=12)
    )


@pytest.mark.parametrize("size", [-1, "12", None])
def test_missing_fields_are_empty_and_a_size_that_is_no_count_is_none(size: Any) -> None:
    event = parse_event("AttachmentAdded", {"AttachmentId": ATTACHMENT, "Size": size})
    assert event == AttachmentAdded(
        WebhookAttachment(ATTACHMENT, name="", mime_type="", subtype="", size=None)
    )


def test_attachment_removed_names_the_attachment() -> None:
    assert parse_event(EventType.ATTACHMENT_REMOVED, {"AttachmentId": ATTACHMENT}) == AttachmentRemoved(
        ATTACHMENT
    )


def test_new_work_order_brings_its_status_and_attachments() -> None:
    body = {"WorkOrder": {"Status": "New"}, "Attachments": [{"AttachmentId": ATTACHMENT, "Name": "a.pdf"}]}
    event = parse_event("NewWorkOrder", body)
    assert isinstance(event, NewWorkOrder) and event.status == "New"
    assert [attachment.name for attachment in event.attachments] == ["a.pdf"]
    assert parse_event("NewWorkOrder", {}) == NewWorkOrder(status="", attachments=())


def test_an_event_we_do_not_act_on_is_none() -> None:
    assert parse_event("WorkOrderPaused", {"anything": 1}) is None


@pytest.mark.parametrize(
    ("event_type", "body", "message"),
    [
        ("AttachmentAdded", {"Name": "a.jpg"}, "AttachmentAdded: the body has no AttachmentId"),
        ("AttachmentRemoved", [], "AttachmentRemoved: the body is not a JSON object"),
        ("NewWorkOrder", {"WorkOrder": "New"}, "NewWorkOrder: WorkOrder is not an object"),
        ("NewWorkOrder", {"Attachments": {"a": 1}}, "NewWorkOrder: Attachments is not a list"),
        ("NewWorkOrder", {"Attachments": ["x"]}, "NewWorkOrder: an attachment has no AttachmentId"),
    ],
)
def test_an_event_without_what_it_needs_is_malformed(event_type: str, body: Any, message: str) -> None:
    with pytest.raises(MalformedWebhook, match=f"^{message}$"):
        parse_event(event_type, body)


def test_the_attachment_a_body_names_is_what_its_audit_rows_are_about() -> None:
    assert named_attachment({"AttachmentId": ATTACHMENT}) == ATTACHMENT
    assert named_attachment({"Attachments": []}) == named_attachment(["x"]) == ""
