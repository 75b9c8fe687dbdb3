"""The SU API photo simulator over real HTTP with `requests`; photos are really downloaded from a second
loopback server and decoded."""

from __future__ import annotations

import datetime
import io
import re
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from integrations.simkit import (
    Faults,
    RunningServer,
    SimRequest,
    SimResponse,
    SimulatorApp,
    serve,
)
from integrations.suapi.simulator import (
    DEMO_PHOTO_ID,
    DEMO_PROPERTIES,
    MAX_PHOTO_BYTES,
    PENDING_TTL_S,
    TAGS,
    SuApiSimulator,
    demo_picture,
)

TIMEOUT = 2.0
PHOTO = "/SUAPI/jservice/bdc/photo"
HEADERS = {"app-id": "demo-app", "Authorization": "demo-key", "Content-Type": "application/json"}
(NT7, NT7_CHANNEL), (NT8, NT8_CHANNEL) = DEMO_PROPERTIES
PENDING_KEYS = ["status_message", "photo_id", "status", "url", "photo_pending_id", "request_timestamp"]
BAD_AUTH = {
    "Status": "Fail",
    "Errors": [{"Code": "401", "ShortText": "Invalid app-id or API key"}],
    "Ruid": "",
}


def encoded(picture: bytes, fmt: str = "PNG", size: tuple[int, int] | None = None) -> bytes:
    """The same picture saved again (another format, maybe another size): other bytes, same pixels."""
    with Image.open(io.BytesIO(picture)) as image:
        copy = image.resize(size) if size else image.copy()
    buffer = io.BytesIO()
    copy.save(buffer, fmt)
    return buffer.getvalue()


class ImageHost(SimulatorApp):
    """Serves test pictures on loopback: GET /img/<name> answers what `files` holds for the name."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, tuple[int, str, bytes]] = {}
        self.on_serve: Callable[[], None] | None = None
        self.add_route("GET", r"/img/(?P<name>[\w.-]+)", self._image)

    def _image(self, request: SimRequest, name: str) -> SimResponse:
        if self.on_serve is not None:
            self.on_serve()
        status, content_type, body = self.files.get(name, (404, "text/plain", b"Not found"))
        return SimResponse(status, {"Content-Type": content_type}, body)


@pytest.fixture(scope="module")
def host_server() -> Iterator[tuple[ImageHost, RunningServer]]:
    host = ImageHost()
    with serve(host) as server:
        yield host, server


@pytest.fixture
def sim(su_server: tuple[SuApiSimulator, RunningServer]) -> SuApiSimulator:
    """The session's simulator (tests/conftest.py), reset and holding the demo property."""
    simulator = su_server[0]
    simulator.reset()
    simulator.seed_demo()
    return simulator


@pytest.fixture
def base(su_server: tuple[SuApiSimulator, RunningServer], sim: SuApiSimulator) -> str:
    return su_server[1].url


@pytest.fixture
def host(host_server: tuple[ImageHost, RunningServer]) -> ImageHost:
    image_host = host_server[0]
    image_host.files.clear()
    image_host.on_serve = None
    return image_host


@pytest.fixture
def serve_file(host: ImageHost, host_server: tuple[ImageHost, RunningServer]) -> Callable[..., str]:
    """Put a file on the image host and return its URL; status 0 leaves the name unserved (404)."""

    def put(name: str, body: bytes, content_type: str = "image/jpeg", status: int = 200) -> str:
        if status:
            host.files[name] = (status, content_type, body)
        return f"{host_server[1].url}/img/{name}"

    return put


def call(base: str, verb: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{base}{PHOTO}/{verb}", json=body, headers=headers or HEADERS, timeout=TIMEOUT)


def create(base: str, urls: list[str], hotel: tuple[str, str] = (NT7, NT7_CHANNEL)) -> str:
    images = [{"url": url, "tags": [13]} for url in urls]
    response = call(base, "create", {"hotel_id": hotel[0], "channel_hotel_id": hotel[1], "images": images})
    assert response.status_code == 200 and response.json()["Status"] == "Success", response.text
    return str(response.json()["Data"]["Photo_Batch_Id"])


def pending(base: str, batch_id: str, hotel: tuple[str, str] = (NT7, NT7_CHANNEL)) -> dict[str, Any]:
    body = {"hotel_id": hotel[0], "channel_hotel_id": hotel[1], "photo_batch_id": batch_id}
    response = call(base, "pendingImages", body)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def settled(
    sim: SuApiSimulator, base: str, urls: list[str], hotel: tuple[str, str] = (NT7, NT7_CHANNEL)
) -> list[dict[str, Any]]:
    """Create a batch, let processing time pass, and return its pendingImages entries."""
    batch_id = create(base, urls, hotel)
    sim.clock.advance(sim.process_after_s)
    data: list[dict[str, Any]] = pending(base, batch_id, hotel)["Data"]
    return data


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/photo.jpg"


# --- auth and bodies ---


def test_the_documented_headers_are_accepted(base: str) -> None:
    response = requests.get(f"{base}{PHOTO}/retrieveTags", headers=HEADERS, timeout=TIMEOUT)
    body = response.json()
    assert response.status_code == 200 and body["Status"] == "Success"
    assert body["Data"][0] == {"tag_id": 1, "tag_name": "Shower"}
    assert {entry["tag_id"]: entry["tag_name"] for entry in body["Data"]} == TAGS
    assert len(TAGS) >= 25 and (TAGS[3], TAGS[13], TAGS[80], TAGS[101]) == (
        "Toilet",
        "Bed",
        "Pool view",
        "Property building",
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "demo-key"},
        {"app-id": "demo-app"},
        {"app-id": "other-app", "Authorization": "demo-key"},
        {"app-id": "demo-app", "Authorization": "wrong-key"},
        {"app-id": "demo-app", "Authorization": "Bearer demo-key"},
        {"app-id": "démo", "Authorization": "ключ"},
    ],
)
def test_missing_or_wrong_credentials_are_401(base: str, headers: dict[str, str]) -> None:
    headers = {"Content-Type": "application/json", **headers}
    body = {"hotel_id": NT7, "channel_hotel_id": NT7_CHANNEL}
    # Sent as raw UTF-8 bytes (http.client only takes latin-1 text): odd bytes must answer 401, not 500.
    encoded_headers = {name: value.encode().decode("latin-1") for name, value in headers.items()}
    response = call(base, "retrieveAll", body, encoded_headers)
    assert (response.status_code, response.json()) == (401, BAD_AUTH)
    tags = requests.get(f"{base}{PHOTO}/retrieveTags", headers=encoded_headers, timeout=TIMEOUT)
    assert (tags.status_code, tags.json()) == (401, BAD_AUTH)


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_an_unreadable_body_is_400(base: str, data: bytes) -> None:
    response = requests.post(f"{base}{PHOTO}/create", data=data, headers=HEADERS, timeout=TIMEOUT)
    body = response.json()
    assert response.status_code == 400
    assert (body["Status"], body["Errors"][0]["Code"], body["Ruid"]) == ("Fail", "400", "")


# --- create and processing ---


def test_create_then_new_enqueued_ok_over_simulated_time(
    base: str, sim: SuApiSimulator, serve_file: Callable[..., str]
) -> None:
    urls = [serve_file("a.jpg", demo_picture(1)), serve_file("b.jpg", demo_picture(2))]
    created_at = sim.clock.now()
    response = call(
        base,
        "create",
        {
            "hotel_id": NT7,
            "channel_hotel_id": NT7_CHANNEL,
            "images": [{"url": urls[0], "tags": [1, 3]}, {"url": urls[1]}],
        },
    )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"Status", "Data", "Message", "Ruid"}
    assert (body["Status"], body["Message"]) == ("Success", "Photo batch created successfully")
    batch_id = body["Data"]["Photo_Batch_Id"]
    assert re.fullmatch(r"[\w-]{11}", batch_id) and 50 <= len(body["Ruid"]) <= 70
    assert sim.batches[batch_id].hotel_id == NT7

    fresh = pending(base, batch_id)
    assert set(fresh) == {"Status", "Data", "Message", "Ruid"} and fresh["Ruid"]
    assert (fresh["Status"], fresh["Message"]) == ("Success", "Property Pending Images Fetched Successfully")
    assert [list(entry) for entry in fresh["Data"]] == [PENDING_KEYS, PENDING_KEYS]
    first = fresh["Data"][0]
    assert (first["status"], first["photo_id"], first["status_message"], first["url"]) == (
        "new",
        "",
        "",
        urls[0],
    )
    assert re.fullmatch(r"[\w-]{10,12}", first["photo_pending_id"])
    assert first["photo_pending_id"] != fresh["Data"][1]["photo_pending_id"]
    stamp = datetime.datetime.strptime(first["request_timestamp"], "%Y-%m-%d %H:%M:%S")
    assert abs(stamp.replace(tzinfo=datetime.UTC).timestamp() - created_at) < 2

    sim.clock.advance(sim.enqueue_after_s)
    assert [entry["status"] for entry in pending(base, batch_id)["Data"]] == ["enqueued", "enqueued"]
    assert sim.downloads == []  # nothing is fetched before processing time

    sim.clock.advance(sim.process_after_s - sim.enqueue_after_s)
    done = pending(base, batch_id)["Data"]
    assert [(entry["status"], entry["status_message"]) for entry in done] == [("ok", ""), ("ok", "")]
    assert done[0]["request_timestamp"] == first["request_timestamp"]
    assert done[0]["photo_pending_id"] == first["photo_pending_id"]
    photo_ids = [entry["photo_id"] for entry in done]
    assert all(re.fullmatch(r"[\w-]{10,12}", photo_id) for photo_id in photo_ids)
    assert [photo.photo_id for photo in sim.properties[NT7].photos] == [DEMO_PHOTO_ID, *photo_ids]
    assert sim.properties[NT7].photos[1].tags == [1, 3]
    assert sim.downloads == [(urls[0], "ok"), (urls[1], "ok")]
    assert pending(base, batch_id)["Data"] == done  # final: nothing is downloaded twice
    assert len(sim.downloads) == 2


@pytest.mark.parametrize(
    ("name", "content_type", "status", "body", "expected", "message"),
    [
        ("missing", "", 0, b"", "bad_url", "Could not download the image: HTTP 404"),
        ("forbidden.jpg", "image/jpeg", 403, b"", "bad_url", "Could not download the image: HTTP 403"),
        ("page.jpg", "text/html; charset=utf-8", 200, b"<html></html>", "bad_url", "text/html"),
        ("noise.jpg", "image/jpeg", 200, b"\xff\xd8\xff not a jpeg at all", "error_decode", "decoded"),
        ("text.bin", "application/octet-stream", 200, b"hello", "error_decode", "decoded"),
        ("small.jpg", "image/jpeg", 200, demo_picture(3, (100, 100)), "error", "100x100 are outside"),
        ("wide.png", "image/png", 200, encoded(demo_picture(3), size=(14001, 300)), "error", "14001x300"),
    ],
)
def test_final_statuses_come_from_real_downloads(
    base: str,
    sim: SuApiSimulator,
    serve_file: Callable[..., str],
    name: str,
    content_type: str,
    status: int,
    body: bytes,
    expected: str,
    message: str,
) -> None:
    url = serve_file(name, body, content_type, status)
    (entry,) = settled(sim, base, [url])
    assert (entry["status"], entry["photo_id"]) == (expected, "")
    assert message in entry["status_message"]
    assert sim.downloads == [(url, expected)]
    assert [photo.photo_id for photo in sim.properties[NT7].photos] == [DEMO_PHOTO_ID]


def test_a_closed_port_is_bad_url(base: str, sim: SuApiSimulator) -> None:
    (entry,) = settled(sim, base, [closed_port_url()])
    assert entry["status"] == "bad_url" and entry["status_message"].startswith("Could not download the image")


def test_a_photo_over_the_size_limit_is_error(
    base: str, sim: SuApiSimulator, serve_file: Callable[..., str]
) -> None:
    sim.max_photo_bytes = 1024
    (entry,) = settled(sim, base, [serve_file("big.jpg", demo_picture(4))])
    assert entry["status"] == "error" and "larger than" in entry["status_message"]


def test_decompression_bombs_are_error_decode(
    base: str, sim: SuApiSimulator, serve_file: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = [
        serve_file("warn.png", encoded(demo_picture(5), size=(500, 500)), "image/png"),
        serve_file("bomb.png", encoded(demo_picture(6), size=(600, 600)), "image/png"),
    ]
    # Lowered so a small picture plays a huge one: 500x500 only warns, 600x600 is past twice the limit.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 400 * 400)
    assert [entry["status"] for entry in settled(sim, base, urls)] == ["error_decode", "error_decode"]


def test_duplicates_name_the_original_photo_id(
    base: str, sim: SuApiSimulator, serve_file: Callable[..., str]
) -> None:
    # The demo property already holds demo_picture(0); a re-encoded copy is still the same picture.
    urls = [
        serve_file("zero.png", encoded(demo_picture(0)), "image/png"),
        serve_file("seven.jpg", demo_picture(7)),
        serve_file("seven-again.jpg", encoded(demo_picture(7), "JPEG")),
    ]
    first = settled(sim, base, urls)
    seven_id = first[1]["photo_id"]
    assert [(entry["status"], entry["photo_id"]) for entry in first] == [
        ("duplicate", DEMO_PHOTO_ID),
        ("ok", seven_id),
        ("duplicate", seven_id),  # within one batch, the first copy wins
    ]
    assert (
        first[0]["status_message"] == f"This is a duplicate photo. The original photo id is : {DEMO_PHOTO_ID}"
    )
    assert first[2]["status_message"] == f"This is a duplicate photo. The original photo id is : {seven_id}"

    later = settled(sim, base, [serve_file("seven-big.png", encoded(demo_picture(7), size=(1600, 1200)))])
    assert (later[0]["status"], later[0]["photo_id"]) == ("duplicate", seven_id)
    # Another property does not share NT7's photos.
    other = settled(sim, base, [serve_file("zero.jpg", demo_picture(0))], (NT8, NT8_CHANNEL))
    assert other[0]["status"] == "ok"
    assert [photo.photo_id for photo in sim.properties[NT7].photos] == [DEMO_PHOTO_ID, seven_id]


# --- errors: HTTP 200 with Status Fail ---


def test_unknown_hotel_and_mapping_errors_are_documented_envelopes(base: str) -> None:
    for verb in ("create", "pendingImages", "retrieveAll", "delete"):
        unknown = call(base, verb, {"hotel_id": "NT711", "channel_hotel_id": NT7_CHANNEL})
        assert (unknown.status_code, unknown.json()) == (
            200,
            {
                "Errors": [{"Code": "400", "ShortText": "HotelCode: Invalid HotelCode ('NT711')"}],
                "Status": "Fail",
                "Ruid": "",
            },
        )
        mapping = call(base, verb, {"hotel_id": NT7, "channel_hotel_id": NT8_CHANNEL})
        assert (mapping.status_code, mapping.json()) == (
            200,
            {
                "Errors": [{"Code": "573", "ShortText": "channel-mapping not found for this property!"}],
                "Status": "Fail",
                "Ruid": "",
            },
        )
    # An id sent as a JSON number names the same property.
    assert call(base, "retrieveAll", {"hotel_id": NT7, "channel_hotel_id": int(NT7_CHANNEL)}).json()[
        "Status"
    ] == ("Success")


def test_tag_and_image_errors(base: str, sim: SuApiSimulator) -> None:
    nt7 = {"hotel_id": NT7, "channel_hotel_id": NT7_CHANNEL}
    url = "http://127.0.0.1:9/x.jpg"
    bad_tags = call(
        base, "create", {**nt7, "images": [{"url": url, "tags": [1, 999]}, {"url": url, "tags": [5]}]}
    )
    assert (bad_tags.status_code, bad_tags.json()) == (
        200,
        {"Errors": [{"Code": "574", "ShortText": "Invalid image tags: 999"}], "Status": "Fail", "Ruid": ""},
    )
    many = call(base, "create", {**nt7, "images": [{"url": url, "tags": [998, "x", True, 998]}]})
    assert many.json()["Errors"][0]["ShortText"] == "Invalid image tags: 998, x, True"
    no_photos = {
        "Errors": [{"Code": "578", "ShortText": "Photos data not found"}],
        "Status": "Fail",
        "Ruid": "",
    }
    images: dict[str, Any]
    for images in ({}, {"images": []}, {"images": "x"}):
        response = call(base, "create", {**nt7, **images})
        assert (response.status_code, response.json()) == (200, no_photos)
    no_url = call(base, "create", {**nt7, "images": [{"tags": [1]}]})
    assert (no_url.status_code, no_url.json()["Status"], no_url.json()["Errors"][0]["Code"]) == (
        200,
        "Fail",
        "400",
    )
    assert sim.batches == {}


def test_an_unknown_batch_id_answers_the_message_envelope(
    base: str, sim: SuApiSimulator, serve_file: Callable[..., str]
) -> None:
    body = pending(base, "2nzdsMfFYJc1")
    assert list(body) == ["Status", "Errors", "Message", "Ruid"]
    assert (body["Status"], body["Errors"]) == ("Fail", [])
    assert body["Message"] == "'2nzdsMfFYJc1' is not an accepted value for key main_photo"
    assert len(body["Ruid"]) >= 20
    # A batch of another property is unknown to this one.
    batch_id = create(base, [serve_file("a.jpg", demo_picture(1))], (NT8, NT8_CHANNEL))
    assert pending(base, batch_id)["Message"] == f"'{batch_id}' is not an accepted value for key main_photo"
    assert pending(base, batch_id, (NT8, NT8_CHANNEL))["Status"] == "Success"


def test_pending_ids_vanish_seven_days_after_creation(
    base: str, sim: SuApiSimulator, serve_file: Callable[..., str]
) -> None:
    batch_id = create(base, [serve_file("a.jpg", demo_picture(1))])
    sim.clock.advance(PENDING_TTL_S - 60)
    assert pending(base, batch_id)["Data"][0]["status"] == "ok"
    sim.clock.advance(60)
    gone = pending(base, batch_id)
    assert (gone["Status"], gone["Errors"]) == ("Fail", [])
    assert gone["Message"] == f"'{batch_id}' is not an accepted value for key main_photo"
    # The permanent photo stays.
    assert len(sim.properties[NT7].photos) == 2


# --- retrieveAll and delete ---


def test_retrieve_all_and_delete(base: str, sim: SuApiSimulator, serve_file: Callable[..., str]) -> None:
    nt7 = {"hotel_id": NT7, "channel_hotel_id": NT7_CHANNEL}
    nt8 = {"hotel_id": NT8, "channel_hotel_id": NT8_CHANNEL}
    empty = call(base, "retrieveAll", nt8)
    assert (empty.status_code, empty.json()["Errors"][0]) == (
        200,
        {"Code": "578", "ShortText": "Photos data not found"},
    )
    url = serve_file("a.jpg", demo_picture(1))
    (entry,) = settled(sim, base, [url])
    listed = call(base, "retrieveAll", nt7).json()
    assert set(listed) == {"Status", "Data", "Ruid"} and listed["Status"] == "Success"
    assert [list(photo) for photo in listed["Data"]] == [["url", "sample_url", "photo_id", "tags"]] * 2
    assert [(photo["photo_id"], photo["tags"]) for photo in listed["Data"]] == [
        (DEMO_PHOTO_ID, [101]),
        (entry["photo_id"], [13]),
    ]
    assert listed["Data"][1]["url"] == url
    sample = requests.get(listed["Data"][1]["sample_url"], timeout=5)  # public: no credentials
    assert (sample.status_code, sample.headers["Content-Type"]) == (200, "image/jpeg")
    assert Image.open(io.BytesIO(sample.content)).size == (320, 240)

    main = call(base, "delete", {**nt7, "photo_id": DEMO_PHOTO_ID})
    assert (main.status_code, main.json()) == (
        200,
        {
            "Errors": [{"Code": "400", "ShortText": "The main photo of an open property cannot be deleted"}],
            "Status": "Fail",
            "Ruid": "",
        },
    )
    deleted = call(base, "delete", {**nt7, "photo_id": entry["photo_id"]})
    assert deleted.status_code == 200
    assert (deleted.json()["Status"], deleted.json()["Message"]) == ("Success", "Photo deleted successfully")
    assert deleted.json()["Ruid"]
    again = call(base, "delete", {**nt7, "photo_id": entry["photo_id"]})
    assert (again.status_code, again.json()["Errors"][0]["Code"]) == (200, "578")
    assert [photo["photo_id"] for photo in call(base, "retrieveAll", nt7).json()["Data"]] == [DEMO_PHOTO_ID]

    # A closed property may lose its main photo; the next one becomes main.
    sim.add_property("NT9", "12837617", open=False)
    closed = {"hotel_id": "NT9", "channel_hotel_id": "12837617"}
    first, second = settled(
        sim,
        base,
        [serve_file("b.jpg", demo_picture(2)), serve_file("c.jpg", demo_picture(3))],
        ("NT9", "12837617"),
    )
    assert call(base, "delete", {**closed, "photo_id": first["photo_id"]}).json()["Status"] == "Success"
    assert [(p.photo_id, p.is_main) for p in sim.properties["NT9"].photos] == [(second["photo_id"], True)]


# --- knobs, faults, locking, control routes ---


def test_stall_keeps_photos_enqueued_until_they_vanish(
    base: str, sim: SuApiSimulator, serve_file: Callable[..., str]
) -> None:
    response = requests.post(f"{base}/_sim/suapi/behaviour", json={"stall": True}, timeout=TIMEOUT)
    assert response.status_code == 200 and response.json()["stall"] is True and sim.stall
    batch_id = create(base, [serve_file("a.jpg", demo_picture(1))])
    sim.clock.advance(3600)
    assert pending(base, batch_id)["Data"][0]["status"] == "enqueued"
    assert sim.process_due() == [] and sim.downloads == []
    sim.clock.advance(PENDING_TTL_S)
    assert "not an accepted value" in pending(base, batch_id)["Message"]
    sim.stall = False
    assert sim.process_due() == [] and sim.downloads == []  # expired photos are never processed


def test_faults_apply_to_api_routes_not_control_routes(base: str, sim: SuApiSimulator) -> None:
    nt7 = {"hotel_id": NT7, "channel_hotel_id": NT7_CHANNEL}
    sim.faults = Faults(rate_limit_burst=1, retry_after_s=3)
    limited = call(base, "retrieveAll", nt7)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert call(base, "retrieveAll", nt7).json()["Status"] == "Success"
    sim.faults = Faults(error_rate=1.0, seed=1)
    assert requests.get(f"{base}/_sim/suapi/batches", timeout=TIMEOUT).status_code == 200
    assert call(base, "retrieveAll", nt7).status_code in (500, 502, 503)
    sim.faults = Faults(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        call(base, "retrieveAll", nt7)
    sim.faults = Faults()
    sim.garbage_next = "html"
    garbled = call(base, "retrieveAll", nt7)
    assert garbled.status_code == 200 and garbled.headers["Content-Type"] == "text/html"
    assert [entry.fault for entry in sim.log[-5:]] == ["rate_limit", None, "error", "drop", None]


def test_downloads_happen_outside_the_lock(
    base: str, sim: SuApiSimulator, host: ImageHost, serve_file: Callable[..., str]
) -> None:
    seen: list[tuple[int, str]] = []

    def call_back() -> None:
        # The image server asks the simulator for its state while the simulator waits for the image.
        response = requests.get(f"{base}/_sim/suapi/batches", timeout=TIMEOUT)
        seen.append((response.status_code, response.json()["batches"][0]["photos"][0]["status"]))

    host.on_serve = call_back
    batch_id = create(base, [serve_file("a.jpg", demo_picture(1))])
    sim.clock.advance(sim.process_after_s)
    started = time.monotonic()
    data = pending(base, batch_id)["Data"]
    assert time.monotonic() - started < 1.5
    assert seen == [(200, "enqueued")] and data[0]["status"] == "ok"


def test_control_routes(base: str, sim: SuApiSimulator, serve_file: Callable[..., str]) -> None:
    added = requests.post(
        f"{base}/_sim/suapi/properties",
        json={"hotel_id": "NT20", "channel_hotel_id": "555", "open": False},
        timeout=TIMEOUT,
    )
    assert added.status_code == 201
    assert added.json() == {
        "hotel_id": "NT20",
        "channel_hotel_id": "555",
        "open": False,
        "photos": [],
        "batches": [],
        "rooms": {},
    }
    for body in ({"hotel_id": "NT20", "channel_hotel_id": "1"}, {"hotel_id": "NT21"}, [1]):
        assert requests.post(f"{base}/_sim/suapi/properties", json=body, timeout=TIMEOUT).status_code == 400
    listing = requests.get(f"{base}/_sim/suapi/properties", timeout=TIMEOUT).json()["properties"]
    assert [p["hotel_id"] for p in listing] == [NT7, NT8, "NT20"]
    assert listing[0]["photos"] == [
        {"photo_id": DEMO_PHOTO_ID, "url": listing[0]["photos"][0]["url"], "tags": [101], "is_main": True}
    ]
    assert requests.post(f"{base}/_sim/suapi/seed-demo", timeout=TIMEOUT).status_code == 409

    behaviour = requests.post(
        f"{base}/_sim/suapi/behaviour", json={"enqueue_after_s": 1, "process_after_s": "3"}, timeout=TIMEOUT
    )
    assert behaviour.json() == {
        "enqueue_after_s": 1.0,
        "process_after_s": 3.0,
        "stall": False,
        "max_photo_bytes": sim.max_photo_bytes,
        "garbage_next": None,
    }
    assert requests.get(f"{base}/_sim/suapi/behaviour", timeout=TIMEOUT).json() == behaviour.json()
    refused: list[dict[str, Any]] = [{"nope": 1}, {"process_after_s": "soon"}, {"garbage_next": "xml"}]
    for body in refused:
        assert requests.post(f"{base}/_sim/suapi/behaviour", json=body, timeout=TIMEOUT).status_code == 400

    batch_id = create(base, [serve_file("a.jpg", demo_picture(1)), closed_port_url()])
    assert requests.post(f"{base}/_sim/suapi/process", timeout=TIMEOUT).json() == {"processed": []}
    sim.clock.advance(3)
    processed = requests.post(f"{base}/_sim/suapi/process", timeout=TIMEOUT).json()["processed"]
    assert [entry["status"] for entry in processed] == ["ok", "bad_url"]
    batches = requests.get(f"{base}/_sim/suapi/batches", timeout=TIMEOUT).json()["batches"]
    assert [(b["photo_batch_id"], b["hotel_id"], b["expired"]) for b in batches] == [(batch_id, NT7, False)]
    assert [p["status"] for p in batches[0]["photos"]] == ["ok", "bad_url"]
    assert batches[0]["photos"][0]["tags"] == [13]

    knobs = {"stall": True, "garbage_next": "html", "max_photo_bytes": 10}
    assert requests.post(f"{base}/_sim/suapi/behaviour", json=knobs, timeout=TIMEOUT).json()["stall"] is True
    assert requests.post(f"{base}/_sim/reset", timeout=TIMEOUT).status_code == 200
    assert (sim.properties, sim.batches, sim.downloads) == ({}, {}, [])
    assert requests.get(f"{base}/_sim/suapi/behaviour", timeout=TIMEOUT).json() == {
        "enqueue_after_s": 2.0,
        "process_after_s": 6.0,
        "stall": False,
        "max_photo_bytes": MAX_PHOTO_BYTES,
        "garbage_next": None,
    }


def test_demo_data(sim: SuApiSimulator) -> None:
    assert [(p.hotel_id, p.channel_hotel_id, p.open) for p in sim.properties.values()] == [
        (NT7, NT7_CHANNEL, True),
        (NT8, NT8_CHANNEL, True),
    ]
    assert [(p.photo_id, p.is_main) for p in sim.properties[NT7].photos] == [(DEMO_PHOTO_ID, True)]
    assert demo_picture(3) == demo_picture(3) and demo_picture(3) != demo_picture(4)
    with Image.open(io.BytesIO(demo_picture(3))) as image:
        assert (image.format, image.size) == ("JPEG", (800, 600))
    with Image.open(io.BytesIO(demo_picture(3, (320, 400)))) as image:
        assert image.size == (320, 400)
    with pytest.raises(ValueError):
        sim.seed_demo()  # a second seed collides instead of duplicating the demo


def test_a_custom_app_id_and_key(serve_file: Callable[..., str]) -> None:
    simulator = SuApiSimulator("app-2", "key-2")
    simulator.add_property("H1", "1")
    with serve(simulator) as server:
        headers = {"app-id": "app-2", "Authorization": "key-2"}
        assert call(server.url, "retrieveAll", {"hotel_id": "H1", "channel_hotel_id": "1"}, headers).json()[
            "Errors"
        ][0]["Code"] == ("578")
        assert call(server.url, "retrieveAll", {}, HEADERS).status_code == 401
