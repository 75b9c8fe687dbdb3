"""The RecoveryConnect simulator and the shared simkit, exercised over real HTTP with `requests`."""

from __future__ import annotations

import io
import re
import threading
import time
from typing import Any

import pytest
import requests
from PIL import Image

from integrations.recoveryconnect.simulator import DEMO_ORDERS, FIRST_PHOTO_ID, RecoveryConnectSimulator
from integrations.simkit import (
    Faults,
    RunningServer,
    SimRequest,
    SimResponse,
    SimulatorApp,
    serve_many,
)
from tests.integrations.clients import rc_bearer

TIMEOUT = 2.0
INVALID = "The given data was invalid."


@pytest.fixture
def sim(rc_server: tuple[RecoveryConnectSimulator, RunningServer]) -> RecoveryConnectSimulator:
    """The session's simulator (tests/conftest.py), reset and holding the demo orders."""
    simulator = rc_server[0]
    simulator.reset()
    simulator.seed_demo()
    return simulator


@pytest.fixture
def url(rc_server: tuple[RecoveryConnectSimulator, RunningServer], sim: RecoveryConnectSimulator) -> str:
    return rc_server[1].url


@pytest.fixture
def auth(url: str) -> dict[str, str]:
    return rc_bearer(url)


def transfer(url: str, auth: dict[str, str], path: str, body: Any) -> requests.Response:
    return requests.put(f"{url}/api/v130/orders/{path}", json=body, headers=auth, timeout=TIMEOUT)


def photo_ids(sim: RecoveryConnectSimulator, internal_id: int) -> list[int]:
    return [photo.id for photo in sim.orders[internal_id].photos]


# --- auth ---


def test_auth_returns_a_bearer_token(url: str, sim: RecoveryConnectSimulator) -> None:
    response = requests.post(
        f"{url}/api/v140/auth", json={"username": "demo", "password": "demo-password"}, timeout=TIMEOUT
    )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"token_type", "expires_in", "access_token", "refresh_token"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert len(body["access_token"]) >= 32 and body["access_token"] != body["refresh_token"]
    assert sim.auth_count == 1


@pytest.mark.parametrize(
    "credentials", [{"username": "demo", "password": "nope"}, {"username": "x", "password": "y"}]
)
def test_auth_with_wrong_credentials_is_401(
    url: str, sim: RecoveryConnectSimulator, credentials: Any
) -> None:
    response = requests.post(f"{url}/api/v140/auth", json=credentials, timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (401, {"message": "Invalid credentials."})
    assert sim.auth_count == 0


def test_auth_with_missing_fields_or_bad_json_is_422(url: str) -> None:
    response = requests.post(f"{url}/api/v140/auth", json={"username": "demo"}, timeout=TIMEOUT)
    assert response.status_code == 422
    assert response.json() == {
        "message": INVALID,
        "errors": {"password": ["The password field is required."]},
    }
    response = requests.post(f"{url}/api/v140/auth", data=b"{not json", timeout=TIMEOUT)
    assert response.status_code == 422 and set(response.json()["errors"]) == {"username", "password"}


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic ZGVtbzpkZW1v"])
def test_missing_or_invalid_token_is_401(url: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.get(f"{url}/api/v140/orders/57076503/photos", headers=headers, timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthenticated."})


def test_token_expires_with_the_clock_and_a_new_login_works(url: str, sim: RecoveryConnectSimulator) -> None:
    sim.token_ttl_s = 60
    response = requests.post(
        f"{url}/api/v140/auth", json={"username": "demo", "password": "demo-password"}, timeout=TIMEOUT
    )
    assert response.json()["expires_in"] == 60
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    photos_url = f"{url}/api/v140/orders/57076503/photos"
    assert requests.get(photos_url, headers=headers, timeout=TIMEOUT).status_code == 200
    advanced = requests.post(f"{url}/_sim/clock/advance", json={"seconds": 61}, timeout=TIMEOUT)
    assert advanced.status_code == 200
    expired = requests.get(photos_url, headers=headers, timeout=TIMEOUT)
    assert (expired.status_code, expired.json()) == (401, {"message": "Unauthenticated."})


def test_expire_tokens_forces_a_401(url: str, sim: RecoveryConnectSimulator, auth: dict[str, str]) -> None:
    photos_url = f"{url}/api/v140/orders/57076503/photos"
    assert requests.get(photos_url, headers=auth, timeout=TIMEOUT).status_code == 200
    sim.expire_tokens()
    assert requests.get(photos_url, headers=auth, timeout=TIMEOUT).status_code == 401


# --- list photos ---


def test_list_photos_has_the_documented_shape(url: str, sim: RecoveryConnectSimulator, auth: Any) -> None:
    before = int(time.time())
    response = requests.get(f"{url}/api/v140/orders/57076503/photos", headers=auth, timeout=TIMEOUT)
    data = response.json()["data"]
    assert response.status_code == 200
    assert [p["name"] for p in data] == ["front.jpg", "rear.jpg", "vin.jpg", "damage-left.jpg"]
    assert [p["id"] for p in data] == list(range(FIRST_PHOTO_ID, FIRST_PHOTO_ID + 4))
    assert set(data[0]) == {"id", "type", "order_id", "name", "photo_url"}
    assert data[0]["type"] == {"id": 2, "name": "Vehicle"} and data[0]["order_id"] == 57076503
    match = re.fullmatch(
        rf"{url}/recoveryconnect/photos/{data[0]['id']}\.jpg\?expires=(\d+)&signature=[0-9a-f]{{64}}",
        data[0]["photo_url"],
    )
    assert match and before + 900 <= int(match[1]) <= int(time.time()) + 900


def photo_urls(url: str, auth: dict[str, str]) -> list[str]:
    response = requests.get(f"{url}/api/v140/orders/57076503/photos", headers=auth, timeout=TIMEOUT)
    return [photo["photo_url"] for photo in response.json()["data"]]


def test_photo_url_serves_a_real_jpeg_without_a_token(url: str, auth: Any) -> None:
    response = requests.get(photo_urls(url, auth)[0], timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(response.content)) as image:
        assert (image.format, image.size) == ("JPEG", (1024, 768))


def test_photo_url_expires_and_cannot_be_tampered_with(
    url: str, sim: RecoveryConnectSimulator, auth: Any
) -> None:
    link = photo_urls(url, auth)[0]
    tampered = requests.get(link[:-1] + ("0" if link[-1] != "0" else "1"), timeout=TIMEOUT)
    assert tampered.status_code == 403 and b"SignatureDoesNotMatch" in tampered.content
    sim.clock.advance(901)
    expired = requests.get(link, timeout=TIMEOUT)
    assert expired.status_code == 403 and b"Request has expired" in expired.content


def test_broken_photos_knob_serves_corrupt_missing_or_html(
    url: str, sim: RecoveryConnectSimulator, auth: Any
) -> None:
    ids = [photo.id for photo in sim.orders[57076503].photos]
    knob = {str(ids[0]): "corrupt", str(ids[1]): "missing", str(ids[2]): "html"}
    behaviour = requests.post(
        f"{url}/_sim/recoveryconnect/behaviour", json={"broken_photos": knob}, timeout=TIMEOUT
    )
    assert behaviour.json()["broken_photos"] == knob
    corrupt, missing, html, fine = (requests.get(link, timeout=TIMEOUT) for link in photo_urls(url, auth))
    with pytest.raises(OSError):
        Image.open(io.BytesIO(corrupt.content)).load()
    assert missing.status_code == 404 and b"NoSuchKey" in missing.content
    assert html.headers["Content-Type"] == "text/html" and fine.headers["Content-Type"] == "image/jpeg"


def test_demo_seed_matches_demo_orders(sim: RecoveryConnectSimulator) -> None:
    assert [(o.internal_id, o.client_order_id, o.closed) for o in sim.orders.values()] == DEMO_ORDERS
    assert [len(o.photos) for o in sim.orders.values()] == [4, 2, 1, 0, 3]
    assert [p.locked for p in sim.orders[57076504].photos] == [False, True]


# --- transfers ---


def test_transfer_one_photo_to_two_destinations(url: str, sim: RecoveryConnectSimulator, auth: Any) -> None:
    photo = photo_ids(sim, 57076503)[1]
    response = transfer(url, auth, f"57076503/photos/{photo}", {"transfer_to": [9100002, 9100005]})
    assert response.status_code == 200
    assert response.json() == {
        "orders": [
            {"id": 9100002, "attachments": [{"id": photo, "status": "success"}]},
            {"id": 9100005, "attachments": [{"id": photo, "status": "success"}]},
        ]
    }
    assert [(t.source_order_id, t.photo_id, t.dest_client_order_id) for t in sim.transfers] == [
        (57076503, photo, 9100002),
        (57076503, photo, 9100005),
    ]
    copies = [sim.orders[57076504].photos[-1], sim.orders[57076507].photos[-1]]
    assert [c.name for c in copies] == ["rear.jpg", "rear.jpg"]
    assert [c.id for c in copies] == [t.new_photo_id for t in sim.transfers] and photo not in [
        c.id for c in copies
    ]


def test_transfer_all_gives_one_entry_per_photo_and_destination(url: str, sim: Any, auth: Any) -> None:
    photos = photo_ids(sim, 57076503)
    response = transfer(url, auth, "57076503/photos/transfer", {"transfer_to": [9100002, 9100005]})
    entries = response.json()["orders"]
    assert response.status_code == 200 and len(entries) == 4 * 2
    assert [(e["id"], e["attachments"]) for e in entries] == [
        (dest, [{"id": photo, "status": "success"}]) for photo in photos for dest in (9100002, 9100005)
    ]
    assert len(sim.transfers) == 8 and len(sim.orders[57076504].photos) == 2 + 4


def test_fail_rules(url: str, sim: RecoveryConnectSimulator, auth: Any) -> None:
    front, locked = photo_ids(sim, 57076504)
    # Unknown destination, closed destination, the source order itself: each is its own "fail" entry.
    response = transfer(url, auth, f"57076504/photos/{front}", {"transfer_to": [9999999, 9100003, 9100002]})
    assert [(e["id"], e["attachments"][0]["status"]) for e in response.json()["orders"]] == [
        (9999999, "fail"),
        (9100003, "fail"),
        (9100002, "fail"),
    ]
    # A locked photo fails while the other photo of the same order succeeds, inside one 200.
    response = transfer(url, auth, "57076504/photos/transfer", {"transfer_to": [9100001]})
    assert response.status_code == 200
    assert [a for e in response.json()["orders"] for a in e["attachments"]] == [
        {"id": front, "status": "success"},
        {"id": locked, "status": "fail"},
    ]
    assert [(t.photo_id, t.dest_client_order_id) for t in sim.transfers] == [(front, 9100001)]
    assert len(sim.orders[57076505].photos) == 1  # the closed order got nothing


def test_transfer_all_of_an_empty_order(url: str, sim: RecoveryConnectSimulator, auth: Any) -> None:
    response = transfer(url, auth, "57076506/photos/transfer", {"transfer_to": [9100001]})
    assert (response.status_code, response.json()) == (200, {"orders": []})


def test_not_found(url: str, sim: RecoveryConnectSimulator, auth: Any) -> None:
    order_404 = {"message": "Order not found."}
    response = requests.get(f"{url}/api/v140/orders/1/photos", headers=auth, timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (404, order_404)
    response = transfer(url, auth, "1/photos/transfer", {"transfer_to": [9100002]})
    assert (response.status_code, response.json()) == (404, order_404)
    other_orders_photo = photo_ids(sim, 57076507)[0]
    response = transfer(url, auth, f"57076503/photos/{other_orders_photo}", {"transfer_to": [9100002]})
    assert (response.status_code, response.json()) == (404, {"message": "Photo not found."})
    assert requests.get(f"{url}/api/v999/nothing", timeout=TIMEOUT).status_code == 404
    wrong_method = requests.get(f"{url}/api/v130/orders/57076503/photos/transfer", timeout=TIMEOUT)
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "PUT"
    assert sim.transfers == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "The transfer to field is required."),
        ({"transfer_to": []}, "The transfer to field is required."),
        ({"transfer_to": 9100002}, "The transfer to must be an array."),
        ({"transfer_to": ["9100002"]}, "The transfer_to.0 must be a positive integer."),
        ({"transfer_to": [9100002, 0]}, "The transfer_to.1 must be a positive integer."),
        ({"transfer_to": [-5]}, "The transfer_to.0 must be a positive integer."),
        ({"transfer_to": [True]}, "The transfer_to.0 must be a positive integer."),
        ({"transfer_to": [1.5]}, "The transfer_to.0 must be a positive integer."),
    ],
)
def test_invalid_transfer_body_is_422(url: str, sim: Any, auth: Any, body: Any, message: str) -> None:
    response = transfer(url, auth, "57076503/photos/transfer", body)
    assert response.status_code == 422
    assert response.json() == {"message": INVALID, "errors": {"transfer_to": [message]}}
    assert sim.transfers == []


def test_non_json_transfer_body_is_422(url: str, auth: dict[str, str]) -> None:
    response = requests.put(
        f"{url}/api/v130/orders/57076503/photos/transfer",
        data=b"transfer_to=1",
        headers=auth,
        timeout=TIMEOUT,
    )
    assert response.status_code == 422 and response.json()["errors"] == {
        "transfer_to": ["The transfer to field is required."]
    }


# --- faults ---


def test_rate_limit_burst_answers_429_with_retry_after(url: str, sim: Any, auth: Any) -> None:
    sim.faults = Faults(rate_limit_burst=2, retry_after_s=7)
    photos_url = f"{url}/api/v140/orders/57076503/photos"
    answers = [requests.get(photos_url, headers=auth, timeout=TIMEOUT) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "7" and answers[0].json() == {"message": "Too Many Attempts."}
    assert [(e.status, e.fault) for e in sim.log[-3:]] == [
        (429, "rate_limit"),
        (429, "rate_limit"),
        (200, None),
    ]


def test_error_rate_answers_5xx_html_and_spares_control_routes(url: str, sim: Any, auth: Any) -> None:
    sim.faults = Faults(error_rate=1.0, seed=3)
    statuses = set()
    for _ in range(6):
        response = requests.get(f"{url}/api/v140/orders/57076503/photos", headers=auth, timeout=TIMEOUT)
        statuses.add(response.status_code)
        assert response.headers["Content-Type"] == "text/html" and response.text.startswith("<html>")
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    control = requests.get(f"{url}/_sim/faults", timeout=TIMEOUT)
    assert control.status_code == 200 and control.json()["error_rate"] == 1.0


def test_drop_closes_the_connection_without_an_answer(url: str, sim: Any, auth: Any) -> None:
    sim.faults = Faults(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/v140/orders/57076503/photos", headers=auth, timeout=TIMEOUT)
    assert sim.log[-1].status == "dropped"


def test_hang_makes_a_short_client_timeout_expire_but_the_work_is_done(url: str, sim: Any, auth: Any) -> None:
    sim.faults = Faults(hang_rate=1.0, hang_s=0.4)
    with pytest.raises(requests.Timeout):
        requests.put(
            f"{url}/api/v130/orders/57076503/photos/transfer",
            json={"transfer_to": [9100002]},
            headers=auth,
            timeout=0.1,
        )
    deadline = time.monotonic() + 2
    while len(sim.log) < 2 and time.monotonic() < deadline:  # the auth call, then the hanging one
        time.sleep(0.02)
    # The provider finished the work after the client gave up: the outcome is unknown to the client.
    assert [(e.status, e.fault) for e in sim.log] == [(200, None), ("timeout-hang", "hang")]
    assert len(sim.transfers) == 4


def test_latency_delays_each_answer_outside_the_lock(url: str, sim: Any, auth: Any) -> None:
    sim.faults = Faults(latency_s=0.3)
    statuses: list[int] = []

    def call() -> None:
        response = requests.get(f"{url}/api/v140/orders/57076503/photos", headers=auth, timeout=TIMEOUT)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=call) for _ in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    # Three requests in parallel: one latency, not three, proves the sleep is not under the lock.
    assert statuses == [200, 200, 200] and 0.3 <= elapsed < 0.6


def test_faults_are_set_and_read_through_control_routes(url: str, sim: RecoveryConnectSimulator) -> None:
    response = requests.post(
        f"{url}/_sim/faults", json={"rate_limit_burst": 1, "latency_s": "0"}, timeout=TIMEOUT
    )
    assert response.status_code == 200 and response.json()["rate_limit_burst"] == 1
    assert sim.faults.rate_limit_burst == 1
    bad = requests.post(f"{url}/_sim/faults", json={"explode": True}, timeout=TIMEOUT)
    assert bad.status_code == 400 and "explode" in bad.json()["message"]
    assert requests.post(f"{url}/api/v140/auth", json={}, timeout=TIMEOUT).status_code == 429
    assert requests.get(f"{url}/_sim/faults", timeout=TIMEOUT).json()["rate_limit_burst"] == 0


# --- garbage and omissions ---


def test_garbage_html_is_a_200_page_once(url: str, sim: Any, auth: Any) -> None:
    sim.garbage_next = "html"
    photos_url = f"{url}/api/v140/orders/57076503/photos"
    response = requests.get(photos_url, headers=auth, timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/html"
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert sim.garbage_next is None
    assert len(requests.get(photos_url, headers=auth, timeout=TIMEOUT).json()["data"]) == 4


def test_garbage_truncated_cuts_the_json_after_doing_the_work(url: str, sim: Any, auth: Any) -> None:
    requests.post(
        f"{url}/_sim/recoveryconnect/behaviour", json={"garbage_next": "truncated"}, timeout=TIMEOUT
    )
    response = transfer(url, auth, "57076503/photos/transfer", {"transfer_to": [9100002]})
    assert response.status_code == 200 and response.text.startswith('{"orders": [')
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert len(sim.transfers) == 4


def test_omitted_photo_is_processed_but_left_out_of_the_answer(url: str, sim: Any, auth: Any) -> None:
    photos = photo_ids(sim, 57076503)
    behaviour = requests.post(
        f"{url}/_sim/recoveryconnect/behaviour", json={"omit_photo_ids": [photos[2]]}, timeout=TIMEOUT
    )
    assert behaviour.json()["omit_photo_ids"] == [photos[2]] and sim.omit_photo_ids == {photos[2]}
    response = transfer(url, auth, "57076503/photos/transfer", {"transfer_to": [9100002]})
    answered = [e["attachments"][0]["id"] for e in response.json()["orders"]]
    assert answered == [photos[0], photos[1], photos[3]]
    assert [t.photo_id for t in sim.transfers] == photos


# --- control routes and simkit ---


def test_control_routes_seed_list_transfers_log_and_reset(url: str, sim: RecoveryConnectSimulator) -> None:
    seeded = requests.post(
        f"{url}/_sim/recoveryconnect/orders",
        json={"internal_id": 1, "client_order_id": 2, "photos": [{"name": "a.jpg", "locked": True}]},
        timeout=TIMEOUT,
    )
    assert seeded.status_code == 201 and seeded.json()["photos"][0]["locked"] is True
    duplicate = requests.post(
        f"{url}/_sim/recoveryconnect/orders", json={"internal_id": 1, "client_order_id": 3}, timeout=TIMEOUT
    )
    assert duplicate.status_code == 400
    auth = requests.post(
        f"{url}/api/v140/auth", json={"username": "demo", "password": "demo-password"}, timeout=TIMEOUT
    )
    headers = {"Authorization": f"Bearer {auth.json()['access_token']}"}
    transfer(url, headers, "57076503/photos/transfer", {"transfer_to": [2]})
    transfers = requests.get(f"{url}/_sim/recoveryconnect/transfers", timeout=TIMEOUT).json()["transfers"]
    assert [(t["source_order_id"], t["dest_client_order_id"]) for t in transfers] == [(57076503, 2)] * 4
    log = requests.get(f"{url}/_sim/log", timeout=TIMEOUT).json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("POST", "/api/v140/auth", 200),
        ("PUT", "/api/v130/orders/57076503/photos/transfer", 200),
    ]
    assert requests.post(f"{url}/_sim/reset", timeout=TIMEOUT).status_code == 200
    assert (sim.orders, sim.tokens, sim.transfers, sim.log, sim.auth_count) == ({}, {}, [], [], 0)
    assert (
        requests.get(f"{url}/api/v140/orders/57076503/photos", headers=headers, timeout=TIMEOUT).status_code
        == 401
    )


class _Boom(SimulatorApp):
    def __init__(self) -> None:
        super().__init__()
        self.add_route("GET", "/boom", self._boom)
        self.add_route("GET", r"/echo/(?P<word>\w+)", self._echo)

    def _boom(self, request: SimRequest) -> SimResponse:
        raise RuntimeError("kaput")

    def _echo(self, request: SimRequest, word: str) -> SimResponse:
        return SimResponse(200, {"X-Word": word}, (request.header("x-TEST") or "").encode())


def test_serve_many_mounts_apps_under_prefixes_and_survives_handler_errors() -> None:
    rc, other = RecoveryConnectSimulator(), _Boom()
    rc.seed_demo()
    with serve_many({"/recoveryconnect": rc, "/other": other}) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url) and server.port > 0
        auth = requests.post(
            f"{server.url}/recoveryconnect/api/v140/auth",
            json={"username": "demo", "password": "demo-password"},
            timeout=TIMEOUT,
        )
        assert auth.status_code == 200 and rc.auth_count == 1 and rc.log[0].path == "/api/v140/auth"
        boom = requests.get(f"{server.url}/other/boom", timeout=TIMEOUT)
        assert boom.status_code == 500 and "kaput" in boom.json()["message"]
        echo = requests.get(f"{server.url}/other/echo/hi", headers={"X-Test": "yes"}, timeout=TIMEOUT)
        assert (echo.status_code, echo.headers["X-Word"], echo.text) == (200, "hi", "yes")
        assert requests.get(f"{server.url}/nowhere", timeout=TIMEOUT).status_code == 404
        assert requests.get(f"{server.url}/recoveryconnect/_sim/log", timeout=TIMEOUT).json()["requests"]
        assert [e.status for e in other.log] == [500, 200]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/other/echo/hi", timeout=TIMEOUT)
