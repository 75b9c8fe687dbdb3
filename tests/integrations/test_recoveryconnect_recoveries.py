"""Recoveries, recovery photos and photo uploads: the simulator over HTTP with `requests`, and the client
against it."""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime
from typing import Any

import pytest
import requests

from integrations.errors import FailureClass, ProviderError
from integrations.http import Exchange
from integrations.recoveryconnect.client import RecoveryConnectClient
from integrations.recoveryconnect.schemas import parse_recoveries, parse_uploaded
from integrations.recoveryconnect.simulator import DEMO_ORDERS, RecoveryConnectSimulator
from integrations.simkit import Faults, labelled_jpeg
from tests.integrations.clients import rc_bearer, rc_client

TIMEOUT = 2.0
INVALID = "The given data was invalid."
PICTURE = labelled_jpeg("upload", "test", size=(64, 48))
WHEN = datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture
def url(rc_sim: RecoveryConnectSimulator, settings: Any) -> str:
    rc_sim.add_order(
        57076503,
        9100001,
        photos=[{"id": 180461378, "name": "front.jpg", "type_id": 3, "type_name": "Front: Driver side"}],
        recoveries=[{"id": 10120166, "created_at": "2026-01-12 09:30:00"}],
    )
    rc_sim.add_order(57076504, 9100002)
    return str(settings.RECOVERYCONNECT["BASE_URL"])


@pytest.fixture
def auth(url: str) -> dict[str, str]:
    return rc_bearer(url)


def body(**changes: Any) -> dict[str, Any]:
    fields = {
        "file_name": "new.jpg",
        "image_name": "New",
        "picture_time": "2026-01-02 03:04:05",
        "data": base64.b64encode(PICTURE).decode(),
        "type": 3,
    }
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not None}


def upload(url: str, auth: dict[str, str], path: str, payload: Any) -> requests.Response:
    return requests.post(f"{url}/api/{path}", json=payload, headers=auth, timeout=TIMEOUT)


# --- The simulator ----------------------------------------------------------------------------------


def test_recoveries_are_listed_as_documented(url: str, auth: dict[str, str]) -> None:
    response = requests.get(f"{url}/api/v140/orders/57076503/recoveries", headers=auth, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {
        "data": [
            {"id": 10120166, "order_id": 57076503, "created_at": "2026-01-12 09:30:00", "is_active": "1"}
        ]
    }
    assert parse_recoveries(response.json())[0].is_active is True


def test_an_upload_is_stored_listed_twice_and_served_as_sent(
    url: str, auth: dict[str, str], rc_sim: RecoveryConnectSimulator
) -> None:
    response = upload(url, auth, "v130/orders/57076503/recoveries/10120166/photos", body())
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["order_id"] == 57076503 and data["recovery_id"] == 10120166
    assert data["file_name"] == "new.jpg" and data["picture_time"] == "2026-01-02 03:04:05"
    new_id = data["attachment_id"]
    order_photos = requests.get(f"{url}/api/v140/orders/57076503/photos", headers=auth, timeout=TIMEOUT)
    recovery_photos = requests.get(
        f"{url}/api/v130/orders/57076503/recoveries/10120166/photos", headers=auth, timeout=TIMEOUT
    ).json()["data"]
    assert new_id in [photo["id"] for photo in order_photos.json()["data"]]
    assert [(p["id"], p["name"], p["type"]["name"]) for p in recovery_photos] == [
        (new_id, "new.jpg", "Front: Driver side")
    ]
    served = requests.get(recovery_photos[0]["photo_url"], timeout=TIMEOUT)
    assert served.status_code == 200 and served.content == PICTURE
    (stored,) = requests.get(f"{url}/_sim/recoveryconnect/uploads", timeout=TIMEOUT).json()["uploads"]
    assert stored["attachment_id"] == new_id and stored["size"] == len(PICTURE) and not stored["personal"]


def test_a_personal_property_photo_answers_success_and_needs_no_type(
    url: str, auth: dict[str, str], rc_sim: RecoveryConnectSimulator
) -> None:
    response = upload(url, auth, "v150/orders/57076503/recoveries/10120166/personals/photos", body(type=None))
    assert response.status_code == 200
    assert response.json()["status"] == "success"
    assert parse_uploaded(response.json(), personal=True).recovery_id == 10120166
    assert rc_sim.orders[57076503].recoveries[0].personals[0].content == PICTURE
    assert rc_sim.uploads[0]["personal"] is True


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"file_name": None}, "file_name"),
        ({"image_name": ""}, "image_name"),
        ({"data": "not base64!"}, "data"),
        ({"data": None}, "data"),
        ({"picture_time": "02/01/2026 03:04"}, "picture_time"),
        ({"type": "3"}, "type"),
        ({"type": None}, "type"),
        ({"type": True}, "type"),
    ],
)
def test_a_bad_upload_body_is_a_laravel_422_and_stores_nothing(
    url: str, auth: dict[str, str], rc_sim: RecoveryConnectSimulator, changes: dict[str, Any], field: str
) -> None:
    response = upload(url, auth, "v130/orders/57076503/recoveries/10120166/photos", body(**changes))
    assert response.status_code == 422
    assert response.json()["message"] == INVALID and field in response.json()["errors"]
    assert rc_sim.uploads == [] and len(rc_sim.orders[57076503].photos) == 1


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("v130/orders/1/recoveries/10120166/photos", "Order not found."),
        ("v130/orders/57076503/recoveries/999/photos", "Recovery not found."),
        ("v130/orders/57076504/recoveries/10120166/photos", "Recovery not found."),  # another order's
        ("v150/orders/57076503/recoveries/999/personals/photos", "Recovery not found."),
    ],
)
def test_unknown_order_or_recovery_is_404(url: str, auth: dict[str, str], path: str, message: str) -> None:
    response = upload(url, auth, path, body())
    assert response.status_code == 404 and response.json() == {"message": message}
    listing = requests.get(f"{url}/api/{path}", headers=auth, timeout=TIMEOUT)
    assert listing.status_code in (404, 405)


def test_the_new_routes_want_the_token(url: str) -> None:
    assert requests.get(f"{url}/api/v140/orders/57076503/recoveries", timeout=TIMEOUT).status_code == 401
    response = upload(url, {}, "v130/orders/57076503/recoveries/10120166/photos", body())
    assert response.status_code == 401


def test_faults_apply_to_uploads(url: str, auth: dict[str, str], rc_sim: RecoveryConnectSimulator) -> None:
    rc_sim.faults = Faults(error_rate=1.0)
    response = upload(url, auth, "v130/orders/57076503/recoveries/10120166/photos", body())
    assert response.status_code in (500, 502, 503) and rc_sim.uploads == []
    rc_sim.faults = Faults()
    rc_sim.garbage_next = "truncated"
    response = upload(url, auth, "v130/orders/57076503/recoveries/10120166/photos", body())
    with pytest.raises(ValueError):
        response.json()
    assert len(rc_sim.uploads) == 1  # carried out; only the answer was mangled


def test_control_routes_add_a_recovery_and_the_demo_has_them(
    rc_sim: RecoveryConnectSimulator, url: str
) -> None:
    added = requests.post(
        f"{url}/_sim/recoveryconnect/recoveries", json={"order_id": 57076504}, timeout=TIMEOUT
    )
    assert added.status_code == 201 and added.json()["is_active"] is True
    unknown = requests.post(f"{url}/_sim/recoveryconnect/recoveries", json={"order_id": 1}, timeout=TIMEOUT)
    assert unknown.status_code == 400
    rc_sim.reset()
    rc_sim.seed_demo()
    counts = {order_id: len(rc_sim.orders[order_id].recoveries) for order_id, _, _ in DEMO_ORDERS}
    open_orders = [order_id for order_id, _, closed in DEMO_ORDERS if not closed]
    assert all(counts[order_id] >= 1 for order_id in open_orders)
    assert any(count > 1 for count in counts.values())
    listed = requests.get(f"{url}/_sim/recoveryconnect/orders", timeout=TIMEOUT).json()["orders"]
    assert json.dumps(listed)  # the control listing stays JSON (uploaded bytes are left out)


# --- The client -------------------------------------------------------------------------------------


@pytest.fixture
def client(url: str, exchanges: list[Exchange]) -> RecoveryConnectClient:
    return rc_client(url, exchanges)


def send(client: RecoveryConnectClient, *, personal: bool = False, **changes: Any) -> Any:
    opened: list[io.BytesIO] = []

    def open_file() -> io.BytesIO:
        opened.append(io.BytesIO(PICTURE))
        return opened[-1]

    arguments: dict[str, Any] = {
        "order_id": 57076503,
        "recovery_id": 10120166,
        "open_file": open_file,
        "size": len(PICTURE),
        "file_name": "new.jpg",
        "image_name": "New",
        "picture_time": WHEN,
        "type_id": 3,
        **changes,
    }
    call = client.upload_personal_photo if personal else client.upload_photo
    return call(**arguments), opened


def test_the_client_lists_recoveries_and_their_photos(client: RecoveryConnectClient) -> None:
    (recovery,) = client.list_recoveries(order_id=57076503)
    assert (recovery.id, recovery.order_id, recovery.created_at) == (
        10120166,
        57076503,
        "2026-01-12 09:30:00",
    )
    assert client.list_recovery_photos(order_id=57076503, recovery_id=10120166) == []


def test_the_client_uploads_streamed_and_the_audit_has_no_base64(
    client: RecoveryConnectClient, exchanges: list[Exchange], rc_sim: RecoveryConnectSimulator
) -> None:
    uploaded, opened = send(client)
    assert uploaded.recovery_id == 10120166 and uploaded.order_id == 57076503
    (stored,) = rc_sim.uploads
    assert (
        stored["attachment_id"] == uploaded.attachment_id and stored["picture_time"] == "2026-01-02 03:04:05"
    )
    assert stored["type"] == 3 and stored["image_name"] == "New"
    assert rc_sim.orders[57076503].recoveries[0].photos[0].content == PICTURE
    summary = next(e for e in exchanges if e.operation == "upload_photo").request_summary
    assert (
        f"<{len(PICTURE)} bytes, base64>" in summary
        and base64.b64encode(PICTURE)[:40].decode() not in summary
    )
    assert all(stream.closed for stream in opened)


def test_the_personal_upload_leaves_type_out_when_none(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator
) -> None:
    uploaded, _ = send(client, personal=True, type_id=None)
    assert rc_sim.uploads[0]["type"] is None and rc_sim.uploads[0]["personal"]
    assert uploaded.attachment_id == rc_sim.uploads[0]["attachment_id"]


def test_an_upload_retried_after_a_5xx_reopens_the_file(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator
) -> None:
    client.login()  # the burst is for the upload, not the sign-in
    rc_sim.faults = Faults(rate_limit_burst=1, retry_after_s=0)
    _, opened = send(client)
    assert len(opened) == 2 and len(rc_sim.uploads) == 1


def test_an_unanswered_upload_is_not_sent_again(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator
) -> None:
    client.login()
    rc_sim.faults = Faults(hang_burst=1, hang_s=1.5)
    with pytest.raises(ProviderError) as caught:
        send(client)
    assert caught.value.unconfirmed and caught.value.failure_class == FailureClass.TIMEOUT
    assert len(rc_sim.uploads) <= 1  # carried out after the client gave up, never twice


def test_404_and_422_come_back_with_the_provider_message(client: RecoveryConnectClient) -> None:
    with pytest.raises(ProviderError, match="Recovery not found") as caught:
        send(client, recovery_id=999)
    assert caught.value.http_status == 404
    with pytest.raises(ProviderError, match="invalid") as caught:
        send(client, file_name="")
    assert caught.value.http_status == 422


@pytest.mark.parametrize(
    "answer",
    [{"data": [{"id": 1, "order_id": 2, "created_at": "x", "is_active": "yes"}]}, {"data": {}}, []],
)
def test_recoveries_of_another_shape_are_a_parse_error(answer: Any) -> None:
    with pytest.raises(ProviderError) as caught:
        parse_recoveries(answer)
    assert caught.value.failure_class == FailureClass.PARSE


@pytest.mark.parametrize(
    ("answer", "personal"),
    [
        ({"data": []}, False),
        ({"data": {"order_id": 1}}, False),
        ({"data": {"order_id": 1, "attachment_id": 2, "recovery_id": 3}}, True),
    ],
)
def test_an_upload_answer_of_another_shape_is_a_parse_error(answer: Any, personal: bool) -> None:
    with pytest.raises(ProviderError) as caught:
        parse_uploaded(answer, personal=personal)
    assert caught.value.failure_class == FailureClass.PARSE


def test_a_422_names_the_fields_in_error(client: RecoveryConnectClient) -> None:
    with pytest.raises(ProviderError) as caught:
        send(client, file_name="", image_name="")
    assert caught.value.http_status == 422
    assert caught.value.message == (
        "HTTP 422: The given data was invalid. (file_name: The file name field is required.; "
        "image_name: The image name field is required.)"
    )
