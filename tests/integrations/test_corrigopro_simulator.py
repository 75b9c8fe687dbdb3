"""The CorrigoPro simulator over real HTTP with `requests`: OAuth, attachments, download links, webhooks."""

from __future__ import annotations

import io
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from integrations.corrigopro.simulator import (
    DEMO_WORK_ORDERS,
    MAX_FILE_SIZE,
    CorrigoProSimulator,
    SimAttachment,
    demo_attachments,
    tiny_jpeg,
    tiny_pdf,
)
from integrations.corrigopro.webhook_auth import SEPARATOR, verify_token
from integrations.simkit import (
    Faults,
    RunningServer,
    SimRequest,
    SimResponse,
    SimulatorApp,
    json_response,
    serve,
    serve_many,
)

TIMEOUT = 2.0
DENIED = {"Message": "Authorization has been denied for this request."}
# Bytes a naive parser would mangle: CRLFs, a fake boundary line, NULs and high bytes around a real JPEG.
PAYLOAD = b"\x00\r\n--not-the-boundary\r\n\r\n\xff\xfe\r" * 20 + tiny_jpeg() + b"\r\n"
ACCEPTED, ACCEPTED_2, NEW, REJECTED, RECALLED, ON_HOLD = (wo for wo, _ in DEMO_WORK_ORDERS)


class Receiver(SimulatorApp):
    """A stand-in for the app's webhook endpoint: records what arrives, answers `status`."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[SimRequest] = []
        self.status = 200
        self.on_receive: Callable[[SimRequest], None] | None = None
        self.add_route("POST", "/webhooks/corrigopro/", self._hook)

    def _hook(self, request: SimRequest) -> SimResponse:
        self.received.append(request)
        if self.on_receive is not None:
            self.on_receive(request)
        return json_response(self.status, {"received": True})


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[CorrigoProSimulator, RunningServer]]:
    simulator = CorrigoProSimulator()
    # Mounted as run_simulators mounts it, so download links are checked through the mount prefix.
    with serve_many({"/corrigopro": simulator}) as server:
        yield simulator, server


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[tuple[Receiver, RunningServer]]:
    receiver = Receiver()
    with serve(receiver) as server:
        yield receiver, server


@pytest.fixture
def sim(running: tuple[CorrigoProSimulator, RunningServer]) -> CorrigoProSimulator:
    simulator = running[0]
    simulator.reset()
    simulator.seed_demo()
    return simulator


@pytest.fixture
def base(running: tuple[CorrigoProSimulator, RunningServer], sim: CorrigoProSimulator) -> str:
    return f"{running[1].url}/corrigopro"


@pytest.fixture
def receiver(receiver_server: tuple[Receiver, RunningServer], sim: CorrigoProSimulator) -> Receiver:
    receiver, server = receiver_server
    receiver.reset()
    receiver.received.clear()
    receiver.status, receiver.on_receive = 200, None
    sim.webhook_url = f"{server.url}/webhooks/corrigopro/"
    return receiver


def get_token(base: str) -> str:
    form = {"client_id": "demo-client", "client_secret": "demo-secret", "grant_type": "client_credentials"}
    response = requests.post(f"{base}/oauth/token", data=form, timeout=TIMEOUT)
    assert response.status_code == 200
    return str(response.json()["access_token"])


@pytest.fixture
def auth(base: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {get_token(base)}"}


def upload(
    base: str,
    auth: dict[str, str],
    file: tuple[str, bytes, str] | None = ("after-repair.jpg", PAYLOAD, "image/jpeg"),
    **fields: str | None,
) -> requests.Response:
    """POST /api/attachments with valid defaults; a field given as None is left out."""
    form: dict[str, str | None] = {
        "WorkOrderId": str(ACCEPTED),
        "Name": "after-repair.jpg",
        "MimeType": "image/jpeg",
        "DocumentType": "Picture",
        "PerformedBy.Name": "Dana Tech",
        "PerformedBy.Phone": "+1 555 0100",
        "MessageId": str(uuid.uuid4()),
    }
    form.update(fields)
    data = {key: value for key, value in form.items() if value is not None}
    files = {"File": file} if file is not None else {"Unused": ("x.txt", b"x", "text/plain")}
    return requests.post(f"{base}/api/attachments", data=data, files=files, headers=auth, timeout=TIMEOUT)


def listed(base: str, auth: dict[str, str], work_order_id: int = ACCEPTED) -> list[dict[str, Any]]:
    response = requests.get(
        f"{base}/api/attachments", params={"WorkOrderId": work_order_id}, headers=auth, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def download_url(base: str, auth: dict[str, str], attachment_id: str, work_order_id: int = ACCEPTED) -> str:
    params: dict[str, str | int] = {"AttachmentId": attachment_id, "WorkOrderId": work_order_id}
    response = requests.get(
        f"{base}/api/attachments/downloadUrl", params=params, headers=auth, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return str(response.json()["Url"])


def assert_error(response: requests.Response, code: int, fields: list[str] | None = None) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"Code", "Message", "ValidationErrors", "MessageId"}
    assert body["Code"] == code and body["Message"]
    assert [error["PropertyName"] for error in body["ValidationErrors"]] == (fields or [])
    assert all(error["ErrorMessage"] for error in body["ValidationErrors"])
    return body


def stored(sim: CorrigoProSimulator, attachment_id: str) -> SimAttachment:
    attachment = sim.attachment(attachment_id)
    assert attachment is not None
    return attachment


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/webhooks/corrigopro/"


# --- OAuth ---


def test_token_has_the_documented_shape(base: str, sim: CorrigoProSimulator) -> None:
    form = {"client_id": "demo-client", "client_secret": "demo-secret", "grant_type": "client_credentials"}
    response = requests.post(f"{base}/oauth/token", data=form, timeout=TIMEOUT)
    body = response.json()
    assert response.status_code == 200 and set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 1199)
    assert len(body["access_token"].split(SEPARATOR)) == 2
    assert sim.token_count == 1 and get_token(base) != body["access_token"] and sim.token_count == 2


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"client_secret": "nope"}, 401, "invalid_client"),
        ({"client_id": "other"}, 401, "invalid_client"),
        ({"client_id": None}, 401, "invalid_client"),
        ({"client_secret": "démo"}, 401, "invalid_client"),  # non-ASCII must not break the comparison
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": None}, 400, "invalid_request"),
    ],
)
def test_token_refusals(
    base: str, sim: CorrigoProSimulator, changes: dict[str, str | None], status: int, error: str
) -> None:
    form = {"client_id": "demo-client", "client_secret": "demo-secret", "grant_type": "client_credentials"}
    data = {key: value for key, value in {**form, **changes}.items() if value is not None}
    response = requests.post(f"{base}/oauth/token", data=data, timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (status, {"error": error})
    assert sim.token_count == 0


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic ZGVtbzpkZW1v", "Bearer "])
def test_api_without_a_valid_token_is_401(base: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for method, path in [
        ("GET", "/api/attachments"),
        ("POST", "/api/attachments"),
        ("DELETE", "/api/attachments"),
    ]:
        response = requests.request(
            method, f"{base}{path}", params={"WorkOrderId": ACCEPTED}, headers=headers, timeout=TIMEOUT
        )
        assert (response.status_code, response.json()) == (401, DENIED)


def test_tokens_expire_with_the_clock_and_on_demand(base: str, sim: CorrigoProSimulator) -> None:
    headers = {"Authorization": f"Bearer {get_token(base)}"}
    assert len(listed(base, headers)) == 2
    sim.clock.advance(1198)
    assert len(listed(base, headers)) == 2
    sim.clock.advance(2)
    expired = requests.get(
        f"{base}/api/attachments", params={"WorkOrderId": ACCEPTED}, headers=headers, timeout=TIMEOUT
    )
    assert (expired.status_code, expired.json()) == (401, DENIED)
    fresh = {"Authorization": f"Bearer {get_token(base)}"}
    assert len(listed(base, fresh)) == 2
    sim.expire_tokens()
    again = requests.get(
        f"{base}/api/attachments", params={"WorkOrderId": ACCEPTED}, headers=fresh, timeout=TIMEOUT
    )
    assert again.status_code == 401


# --- list ---


def test_list_has_the_documented_shape(base: str, sim: CorrigoProSimulator, auth: dict[str, str]) -> None:
    attachments = listed(base, auth)
    assert [a["Name"] for a in attachments] == ["leak-under-sink.jpg", "site-access.pdf"]
    first = attachments[0]
    assert set(first) == {
        "Id", "Name", "MimeType", "DocumentType", "MessageVisibility", "Size", "CreatedDate", "PerformedBy",
    }  # fmt: skip
    assert first["Id"] == demo_attachments(ACCEPTED)[0]["id"]
    assert (first["MimeType"], first["DocumentType"], first["MessageVisibility"]) == (
        "image/jpeg",
        "Picture",
        "All",
    )
    assert first["Size"] == len(tiny_jpeg()) and first["PerformedBy"] == {"Name": "Customer"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["CreatedDate"])
    assert listed(base, auth, NEW) == [] and listed(base, auth, REJECTED) == []


def test_list_errors(base: str, sim: CorrigoProSimulator, auth: dict[str, str]) -> None:
    for work_order_id in (999, RECALLED):
        response = requests.get(
            f"{base}/api/attachments", params={"WorkOrderId": work_order_id}, headers=auth, timeout=TIMEOUT
        )
        assert_error(response, 3005)
    response = requests.get(f"{base}/api/attachments", headers=auth, timeout=TIMEOUT)
    assert_error(response, 2100, ["WorkOrderId"])
    response = requests.get(
        f"{base}/api/attachments", params={"WorkOrderId": "x"}, headers=auth, timeout=TIMEOUT
    )
    assert_error(response, 2100, ["WorkOrderId"])


# --- upload ---


def test_upload_stores_the_exact_bytes(base: str, sim: CorrigoProSimulator, auth: dict[str, str]) -> None:
    message_id = str(uuid.uuid4())
    response = upload(base, auth, MessageId=message_id, MessageVisibility="CruOnly")
    body = response.json()
    assert response.status_code == 200 and set(body) == {"AttachmentId", "MessageId"}
    assert body["MessageId"] == message_id and uuid.UUID(body["AttachmentId"]).version == 4
    stored = sim.attachment(body["AttachmentId"])
    assert stored is not None and stored.content == PAYLOAD and stored.size == len(PAYLOAD)
    assert (stored.name, stored.mime_type, stored.document_type, stored.visibility, stored.performed_by) == (
        "after-repair.jpg", "image/jpeg", "Picture", "CruOnly", "Dana Tech",
    )  # fmt: skip
    assert [(u.message_id, u.attachment_id, u.work_order_id) for u in sim.uploads] == [
        (message_id, body["AttachmentId"], ACCEPTED)
    ]
    entry = listed(base, auth)[-1]
    assert (entry["Id"], entry["Size"], entry["PerformedBy"]) == (
        body["AttachmentId"],
        len(PAYLOAD),
        {"Name": "Dana Tech"},
    )


def test_upload_defaults_and_other_statuses(
    base: str, sim: CorrigoProSimulator, auth: dict[str, str]
) -> None:
    response = upload(base, auth, WorkOrderId=str(NEW), DocumentType=None, MessageVisibility=None)
    assert response.status_code == 200
    stored = sim.attachment(response.json()["AttachmentId"])
    assert stored is not None and (stored.document_type, stored.visibility) == (None, "All")
    assert listed(base, auth, NEW)[0]["DocumentType"] is None
    for work_order_id in (ON_HOLD, ACCEPTED_2):
        assert upload(base, auth, WorkOrderId=str(work_order_id)).status_code == 200


def test_a_repeated_message_id_returns_the_same_attachment_once(
    base: str, sim: CorrigoProSimulator, auth: dict[str, str]
) -> None:
    message_id = str(uuid.uuid4())
    first = upload(base, auth, MessageId=message_id)
    second = upload(base, auth, MessageId=message_id)
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert len(sim.uploads) == 1 and len(listed(base, auth)) == 3
    assert upload(base, auth).json()["AttachmentId"] != first.json()["AttachmentId"]


@pytest.mark.parametrize(
    ("fields", "file", "invalid"),
    [
        ({}, ("empty.jpg", b"", "image/jpeg"), ["File"]),
        ({}, None, ["File"]),
        ({"Name": "no-extension"}, None, ["Name", "File"]),
        ({"Name": "trailing-dot."}, ("a.jpg", b"x", "image/jpeg"), ["Name"]),
        ({"PerformedBy.Name": "x" * 101}, ("a.jpg", b"x", "image/jpeg"), ["PerformedBy.Name"]),
        ({"MessageId": "x" * 37}, ("a.jpg", b"x", "image/jpeg"), ["MessageId"]),
        ({"DocumentType": "Photo"}, ("a.jpg", b"x", "image/jpeg"), ["DocumentType"]),
        ({"MessageVisibility": "Everyone"}, ("a.jpg", b"x", "image/jpeg"), ["MessageVisibility"]),
        ({"MimeType": "jpeg please"}, ("a.jpg", b"x", "image/jpeg"), ["MimeType"]),
        (
            {
                "WorkOrderId": None,
                "Name": None,
                "MimeType": None,
                "PerformedBy.Name": None,
                "MessageId": None,
            },
            ("a.jpg", b"x", "image/jpeg"),
            ["WorkOrderId", "Name", "MimeType", "PerformedBy.Name", "MessageId"],
        ),
    ],
)
def test_upload_validation_is_2100_naming_each_field(
    base: str,
    sim: CorrigoProSimulator,
    auth: dict[str, str],
    fields: dict[str, str | None],
    file: tuple[str, bytes, str] | None,
    invalid: list[str],
) -> None:
    body = assert_error(upload(base, auth, file, **fields), 2100, invalid)
    sent = fields.get("MessageId", "")
    if sent:
        assert body["MessageId"] == sent  # echoed even when it is the invalid field
    else:
        assert uuid.UUID(body["MessageId"])  # the request's own id, or a fresh one when it sent none
    assert sim.uploads == [] and len(listed(base, auth)) == 2


def test_a_file_over_max_size_is_refused(base: str, sim: CorrigoProSimulator, auth: dict[str, str]) -> None:
    assert sim.max_size == MAX_FILE_SIZE == 20 * 1024 * 1024
    sim.max_size = 1000
    assert upload(base, auth, ("ok.jpg", b"x" * 1000, "image/jpeg")).status_code == 200
    body = assert_error(upload(base, auth, ("big.jpg", b"x" * 1001, "image/jpeg")), 2100, ["File"])
    assert "1000 bytes" in body["ValidationErrors"][0]["ErrorMessage"]
    assert len(sim.uploads) == 1


@pytest.mark.parametrize(("work_order_id", "code"), [(REJECTED, 3001), (RECALLED, 3005), (999, 3005)])
def test_upload_refused_by_work_order(
    base: str, sim: CorrigoProSimulator, auth: dict[str, str], work_order_id: int, code: int
) -> None:
    message_id = str(uuid.uuid4())
    body = assert_error(upload(base, auth, WorkOrderId=str(work_order_id), MessageId=message_id), code)
    assert body["MessageId"] == message_id and sim.uploads == []


def test_an_unreadable_multipart_body_is_2100(base: str, auth: dict[str, str]) -> None:
    headers = {**auth, "Content-Type": "multipart/form-data; boundary=xyz"}
    response = requests.post(
        f"{base}/api/attachments", data=b"--xyz\r\nno end", headers=headers, timeout=TIMEOUT
    )
    assert_error(response, 2100, ["Body"])


# --- update and delete ---


def test_update_replaces_the_metadata(base: str, sim: CorrigoProSimulator, auth: dict[str, str]) -> None:
    attachment_id = demo_attachments(ACCEPTED)[1]["id"]
    message_id = str(uuid.uuid4())
    body = {
        "WorkOrderId": ACCEPTED,
        "AttachmentId": attachment_id,
        "Name": "access-notes.pdf",
        "DocumentType": "Misc",
        "MessageVisibility": "CruLeads",
        "MessageId": message_id,
    }
    response = requests.put(f"{base}/api/attachments", json=body, headers=auth, timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (200, {"MessageId": message_id})
    entry = listed(base, auth)[1]
    assert (entry["Name"], entry["DocumentType"], entry["MessageVisibility"]) == (
        "access-notes.pdf",
        "Misc",
        "CruLeads",
    )
    # Form data works as well (the docs say "form data"); omitted optional fields fall back to their defaults.
    form = {"WorkOrderId": str(ACCEPTED), "AttachmentId": attachment_id, "Name": "n.pdf", "MessageId": "m-2"}
    files = {key: (None, value) for key, value in form.items()}
    response = requests.put(f"{base}/api/attachments", files=files, headers=auth, timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (200, {"MessageId": "m-2"})
    stored = sim.attachment(attachment_id)
    assert stored is not None and (stored.name, stored.document_type, stored.visibility) == (
        "n.pdf",
        None,
        "All",
    )
    assert stored.content == tiny_pdf()  # metadata only: the file cannot be modified


def test_update_errors(base: str, sim: CorrigoProSimulator, auth: dict[str, str]) -> None:
    attachment_id = demo_attachments(ACCEPTED)[0]["id"]
    body: dict[str, Any] = {
        "WorkOrderId": ACCEPTED,
        "AttachmentId": attachment_id,
        "Name": "x.jpg",
        "MessageId": "m",
    }

    def put(**changes: Any) -> requests.Response:
        return requests.put(
            f"{base}/api/attachments", json={**body, **changes}, headers=auth, timeout=TIMEOUT
        )

    assert_error(put(AttachmentId=str(uuid.uuid4())), 3003)
    assert_error(put(WorkOrderId=ACCEPTED_2), 3003)  # an attachment of another work order
    assert_error(put(WorkOrderId=RECALLED), 3005)
    assert_error(
        put(Name="x", DocumentType="Nope", MessageId=None), 2100, ["Name", "DocumentType", "MessageId"]
    )
    assert_error(put(WorkOrderId=True), 2100, ["WorkOrderId"])
    bad_json = requests.put(f"{base}/api/attachments", data=b"[1]", headers=auth, timeout=TIMEOUT)
    assert_error(bad_json, 2100, ["Body"])
    assert stored(sim, attachment_id).name == "leak-under-sink.jpg"


def test_delete_then_delete_again_is_3003(base: str, sim: CorrigoProSimulator, auth: dict[str, str]) -> None:
    attachment_id = demo_attachments(ACCEPTED)[0]["id"]
    params = {"WorkOrderId": str(ACCEPTED), "AttachmentId": attachment_id, "MessageId": "del-1"}
    response = requests.delete(f"{base}/api/attachments", params=params, headers=auth, timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (200, {"MessageId": "del-1"})
    assert [a["Name"] for a in listed(base, auth)] == ["site-access.pdf"]
    assert stored(sim, attachment_id).removed
    again = requests.delete(f"{base}/api/attachments", params=params, headers=auth, timeout=TIMEOUT)
    assert assert_error(again, 3003)["MessageId"] == "del-1"
    # A JSON body works too.
    body = {
        "WorkOrderId": ACCEPTED,
        "AttachmentId": demo_attachments(ACCEPTED)[1]["id"],
        "MessageId": "del-2",
    }
    response = requests.delete(f"{base}/api/attachments", json=body, headers=auth, timeout=TIMEOUT)
    assert response.status_code == 200 and listed(base, auth) == []
    missing = requests.delete(
        f"{base}/api/attachments", params={"WorkOrderId": "1"}, headers=auth, timeout=TIMEOUT
    )
    assert_error(missing, 2100, ["AttachmentId", "MessageId"])


def test_bare_404_next_answers_one_empty_404(
    base: str, sim: CorrigoProSimulator, auth: dict[str, str]
) -> None:
    sim.bare_404_next = True
    params = {"WorkOrderId": "999"}
    bare = requests.get(f"{base}/api/attachments", params=params, headers=auth, timeout=TIMEOUT)
    assert (bare.status_code, bare.content) == (404, b"")
    assert sim.bare_404_next is False
    assert_error(requests.get(f"{base}/api/attachments", params=params, headers=auth, timeout=TIMEOUT), 3005)
    sim.bare_404_next = True
    params = {"WorkOrderId": str(ACCEPTED), "AttachmentId": str(uuid.uuid4()), "MessageId": "m"}
    bare = requests.delete(f"{base}/api/attachments", params=params, headers=auth, timeout=TIMEOUT)
    assert (bare.status_code, bare.content) == (404, b"")


# --- download links ---


def test_download_url_serves_the_bytes_for_15_minutes(
    base: str, sim: CorrigoProSimulator, auth: dict[str, str]
) -> None:
    attachment_id = upload(base, auth).json()["AttachmentId"]
    before = int(sim.clock.now())
    url = download_url(base, auth, attachment_id)
    match = re.fullmatch(
        rf"{re.escape(base)}/files/{attachment_id}\?expires=(\d+)&signature=[0-9a-f]{{64}}", url
    )
    assert match and before + 900 <= int(match[1]) <= int(sim.clock.now()) + 900
    response = requests.get(url, timeout=TIMEOUT)  # no bearer token: the link is the credential
    assert response.status_code == 200 and response.content == PAYLOAD
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Length"] == str(len(PAYLOAD))
    sim.clock.advance(880)
    assert requests.get(url, timeout=TIMEOUT).status_code == 200
    sim.clock.advance(21)
    expired = requests.get(url, timeout=TIMEOUT)
    assert expired.status_code == 403 and "<Code>AccessDenied</Code>" in expired.text
    assert expired.headers["Content-Type"] == "application/xml"
    assert requests.get(download_url(base, auth, attachment_id), timeout=TIMEOUT).content == PAYLOAD


def test_a_tampered_or_reused_link_is_403(base: str, sim: CorrigoProSimulator, auth: dict[str, str]) -> None:
    jpeg_id, pdf_id = (spec["id"] for spec in demo_attachments(ACCEPTED))
    url = download_url(base, auth, jpeg_id)
    assert requests.get(url, timeout=TIMEOUT).content == tiny_jpeg()
    tampered = [
        url[:-1] + ("0" if url[-1] != "0" else "1"),
        re.sub(r"expires=(\d+)", lambda m: f"expires={int(m[1]) + 3600}", url),
        url.replace(jpeg_id, pdf_id),
        url.split("&signature=")[0],
        url.split("?")[0],
    ]
    for link in tampered:
        response = requests.get(link, timeout=TIMEOUT)
        assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text
    pdf = requests.get(download_url(base, auth, pdf_id), timeout=TIMEOUT)
    assert pdf.content == tiny_pdf() and pdf.headers["Content-Type"] == "application/pdf"
    sim.customer_remove_attachment(ACCEPTED, jpeg_id)  # webhook_url is unset: nothing is sent
    assert requests.get(url, timeout=TIMEOUT).status_code == 404


def test_download_url_errors(base: str, sim: CorrigoProSimulator, auth: dict[str, str]) -> None:
    def ask(**params: Any) -> requests.Response:
        return requests.get(
            f"{base}/api/attachments/downloadUrl", params=params, headers=auth, timeout=TIMEOUT
        )

    jpeg_id = demo_attachments(ACCEPTED)[0]["id"]
    assert_error(ask(AttachmentId=jpeg_id, WorkOrderId=ACCEPTED_2), 3003)
    assert_error(ask(AttachmentId=str(uuid.uuid4()), WorkOrderId=ACCEPTED), 3003)
    assert_error(ask(AttachmentId=jpeg_id, WorkOrderId=RECALLED), 3005)
    assert_error(ask(), 2100, ["AttachmentId", "WorkOrderId"])
    assert requests.get(f"{base}/api/attachments/downloadUrl", timeout=TIMEOUT).status_code == 401


def test_links_also_work_when_the_app_is_served_at_the_root(sim: CorrigoProSimulator) -> None:
    with serve(sim) as server:
        headers = {"Authorization": f"Bearer {get_token(server.url)}"}
        url = download_url(server.url, headers, demo_attachments(ACCEPTED)[0]["id"])
        assert url.startswith(f"{server.url}/corrigopro/files/")
        assert requests.get(url, timeout=TIMEOUT).content == tiny_jpeg()
        sim.mount_prefix = ""
        url = download_url(server.url, headers, demo_attachments(ACCEPTED)[0]["id"])
        assert url.startswith(f"{server.url}/files/")
        assert requests.get(url, timeout=TIMEOUT).content == tiny_jpeg()


# --- customer actions and webhooks ---


def test_customer_add_sends_a_signed_attachment_added(
    base: str, sim: CorrigoProSimulator, receiver: Receiver, auth: dict[str, str]
) -> None:
    attachment = sim.customer_add_attachment(ACCEPTED, "water-damage.jpg")
    assert attachment.content == tiny_jpeg() and attachment.performed_by == "Customer"
    assert listed(base, auth)[-1]["Id"] == attachment.id
    [request] = receiver.received
    assert request.header("Event-Type") == "AttachmentAdded"
    assert request.header("Content-Type") == "application/json"
    claims = verify_token(
        request.header("Authorization"), certificate_pem=sim.certificate_pem, now=time.time()
    )
    assert claims["aud"] == "CorrigoProDirect" and claims["iss"] == "corrigopro-simulator"
    assert claims["exp"] - claims["iat"] == 1200
    body = request.json()
    header = body.pop("Header")
    assert body == {
        "AttachmentId": attachment.id,
        "Name": "water-damage.jpg",
        "MimeType": "image/jpeg",
        "Size": len(tiny_jpeg()),
        "Subtype": "Picture",
    }
    assert set(header) == {
        "WorkOrderId",
        "BranchId",
        "Sender",
        "Action",
        "ActionDate",
        "ApiVersion",
        "MessageId",
    }
    assert (header["WorkOrderId"], header["BranchId"], header["Action"], header["ApiVersion"]) == (
        ACCEPTED, 1, "AttachmentAdded", "1.0",
    )  # fmt: skip
    assert header["Sender"] == {"Name": "Customer", "Phone": "", "Type": "Customer"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", header["ActionDate"])
    [delivery] = sim.deliveries
    assert (delivery.event, delivery.message_id, delivery.status, delivery.ok) == (
        "AttachmentAdded", header["MessageId"], 200, True,
    )  # fmt: skip
    # The announced file is fetched through downloadUrl, as the notes say (no content in the webhook).
    assert requests.get(download_url(base, auth, attachment.id), timeout=TIMEOUT).content == tiny_jpeg()


def test_customer_remove_and_new_work_order_webhooks(
    base: str, sim: CorrigoProSimulator, receiver: Receiver, auth: dict[str, str]
) -> None:
    jpeg_id = demo_attachments(ACCEPTED)[0]["id"]
    sim.customer_remove_attachment(ACCEPTED, jpeg_id)
    removed = receiver.received[-1]
    assert removed.header("Event-Type") == "AttachmentRemoved"
    body = removed.json()
    assert set(body) == {"AttachmentId", "Header"} and body["AttachmentId"] == jpeg_id
    assert body["Header"]["Action"] == "AttachmentRemoved"
    assert [a["Name"] for a in listed(base, auth)] == ["site-access.pdf"]
    with pytest.raises(ValueError):
        sim.customer_remove_attachment(ACCEPTED, jpeg_id)

    work_order = sim.customer_new_work_order(
        4200001,
        attachments=[{"name": "note.pdf", "mime_type": "application/pdf", "document_type": "Document"}],
    )
    new = receiver.received[-1]
    assert new.header("Event-Type") == "NewWorkOrder"
    verify_token(new.header("Authorization"), certificate_pem=sim.certificate_pem, now=time.time())
    body = new.json()
    assert body["WorkOrder"] == {"Id": 4200001, "Status": "New"}
    assert body["Attachments"] == [
        {
            "AttachmentId": work_order.attachments[0].id,
            "Name": "note.pdf",
            "MimeType": "application/pdf",
            "Size": len(tiny_pdf()),
        }
    ]
    assert body["Header"]["Action"] == "NewWorkOrder" and body["Header"]["WorkOrderId"] == 4200001
    assert [d.event for d in sim.deliveries] == ["AttachmentRemoved", "NewWorkOrder"]
    assert len({d.message_id for d in sim.deliveries}) == 2


def test_redeliver_sends_the_same_message_with_a_fresh_token(
    sim: CorrigoProSimulator, receiver: Receiver
) -> None:
    sim.customer_add_attachment(ACCEPTED)
    sim.clock.advance(300)  # CorrigoPro retries 5 minutes later
    again = sim.redeliver(0)
    first, second = receiver.received
    assert first.body == second.body and first.json()["Header"]["MessageId"] == again.message_id
    assert first.header("Authorization") != second.header("Authorization")
    claims = verify_token(
        second.header("Authorization"), certificate_pem=sim.certificate_pem, now=sim.clock.now()
    )
    assert claims["iat"] >= int(time.time()) + 299
    assert (again.redelivery_of, again.status, len(sim.deliveries)) == (0, 200, 2)


def test_failed_deliveries_are_recorded_not_raised(sim: CorrigoProSimulator, receiver: Receiver) -> None:
    receiver.status = 500
    assert not sim.customer_add_attachment(ACCEPTED).removed
    assert (sim.deliveries[-1].status, sim.deliveries[-1].ok) == (500, False)
    sim.webhook_url = closed_port_url()
    sim.customer_add_attachment(ACCEPTED)
    refused = sim.deliveries[-1]
    assert refused.status is None and refused.error and "ConnectionError" in refused.error
    sim.webhook_url = None
    sim.customer_add_attachment(ACCEPTED)
    assert sim.deliveries[-1].error == "not sent: no webhook_url"
    assert len(sim.work_orders[ACCEPTED].attachments) == 2 + 3  # state changed every time


def test_control_routes_deliver_without_holding_the_lock(
    base: str, sim: CorrigoProSimulator, receiver: Receiver, auth: dict[str, str]
) -> None:
    seen: list[list[str]] = []
    # The receiver calls the simulator back while the webhook is in flight, as a synchronous app might.
    receiver.on_receive = lambda request: seen.append([a["Name"] for a in listed(base, auth)])
    started = time.monotonic()
    response = requests.post(
        f"{base}/_sim/corrigopro/customer/add-attachment",
        json={
            "work_order_id": ACCEPTED,
            "name": "scan.pdf",
            "mime_type": "application/pdf",
            "content_base64": "JVBERg==",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200 and time.monotonic() - started < 1.5
    assert response.json()["attachment"]["size"] == 4 and response.json()["delivery"]["ok"] is True
    assert seen == [["leak-under-sink.jpg", "site-access.pdf", "scan.pdf"]]
    assert receiver.received[-1].json()["Subtype"] == "Document"
    attachment_id = response.json()["attachment"]["id"]
    removed = requests.post(
        f"{base}/_sim/corrigopro/customer/remove-attachment",
        json={"work_order_id": ACCEPTED, "attachment_id": attachment_id},
        timeout=TIMEOUT,
    )
    assert removed.status_code == 200 and removed.json()["delivery"]["event"] == "AttachmentRemoved"
    new = requests.post(
        f"{base}/_sim/corrigopro/customer/new-work-order", json={"work_order_id": 4200002}, timeout=TIMEOUT
    )
    assert new.status_code == 200 and new.json()["work_order"]["status"] == "New"
    redelivered = requests.post(f"{base}/_sim/corrigopro/deliveries/0/redeliver", timeout=TIMEOUT)
    assert redelivered.json()["message_id"] == sim.deliveries[0].message_id
    assert (
        requests.post(f"{base}/_sim/corrigopro/deliveries/99/redeliver", timeout=TIMEOUT).status_code == 404
    )
    deliveries = requests.get(f"{base}/_sim/corrigopro/deliveries", timeout=TIMEOUT).json()["deliveries"]
    assert [d["event"] for d in deliveries] == [
        "AttachmentAdded",
        "AttachmentRemoved",
        "NewWorkOrder",
        "AttachmentAdded",
    ]
    bad = requests.post(
        f"{base}/_sim/corrigopro/customer/add-attachment", json={"work_order_id": 1}, timeout=TIMEOUT
    )
    assert bad.status_code == 400 and "does not exist" in bad.json()["message"]


# --- control routes, state, faults ---


def test_control_routes_seed_certificate_behaviour_and_reset(base: str, sim: CorrigoProSimulator) -> None:
    seeded = requests.post(
        f"{base}/_sim/corrigopro/work-orders",
        json={
            "work_order_id": 1,
            "status": "Paused",
            "attachments": [{"name": "a.txt", "mime_type": "text/plain"}],
        },
        timeout=TIMEOUT,
    )
    assert seeded.status_code == 201 and seeded.json()["attachments"][0]["size"] > 0
    for body in ({"work_order_id": 1}, {"work_order_id": 2, "status": "Lost"}, {"status": "New"}):
        assert (
            requests.post(f"{base}/_sim/corrigopro/work-orders", json=body, timeout=TIMEOUT).status_code
            == 400
        )
    listing = requests.get(f"{base}/_sim/corrigopro/work-orders", timeout=TIMEOUT).json()["work_orders"]
    assert [(wo["id"], wo["status"]) for wo in listing] == [*DEMO_WORK_ORDERS, (1, "Paused")]
    assert requests.post(f"{base}/_sim/corrigopro/seed-demo", timeout=TIMEOUT).status_code == 409

    certificate = requests.get(f"{base}/_sim/corrigopro/certificate", timeout=TIMEOUT)
    assert certificate.content == sim.certificate_pem and certificate.text.startswith(
        "-----BEGIN CERTIFICATE-----"
    )

    behaviour = requests.post(
        f"{base}/_sim/corrigopro/behaviour",
        json={
            "webhook_url": "http://127.0.0.1:9/x",
            "max_size": 10,
            "bare_404_next": True,
            "token_ttl_s": 60,
        },
        timeout=TIMEOUT,
    )
    assert behaviour.status_code == 200
    assert (sim.webhook_url, sim.max_size, sim.bare_404_next, sim.token_ttl_s) == (
        "http://127.0.0.1:9/x",
        10,
        True,
        60,
    )
    assert (
        requests.post(f"{base}/_sim/corrigopro/behaviour", json={"nope": 1}, timeout=TIMEOUT).status_code
        == 400
    )

    headers = {"Authorization": f"Bearer {get_token(base)}"}
    upload(base, headers, ("a.jpg", b"x", "image/jpeg"))
    assert len(requests.get(f"{base}/_sim/corrigopro/uploads", timeout=TIMEOUT).json()["uploads"]) == 1
    key, pem = sim.private_key, sim.certificate_pem
    assert requests.post(f"{base}/_sim/reset", timeout=TIMEOUT).status_code == 200
    assert (sim.work_orders, sim.tokens, sim.uploads, sim.deliveries, sim.token_count) == ({}, {}, [], [], 0)
    assert (sim.webhook_url, sim.max_size, sim.bare_404_next, sim.token_ttl_s) == (
        None,
        MAX_FILE_SIZE,
        False,
        1199,
    )
    assert (sim.private_key, sim.certificate_pem) == (key, pem)  # the pinned identity survives
    assert (
        requests.get(
            f"{base}/api/attachments", params={"WorkOrderId": 1}, headers=headers, timeout=TIMEOUT
        ).status_code
        == 401
    )


def test_demo_data(sim: CorrigoProSimulator) -> None:
    assert [(wo.id, wo.status) for wo in sim.work_orders.values()] == DEMO_WORK_ORDERS
    assert [len(wo.attachments) for wo in sim.work_orders.values()] == [2, 2, 0, 0, 0, 0]
    with Image.open(io.BytesIO(tiny_jpeg())) as image:
        assert (image.format, image.size) == ("JPEG", (8, 8))
    assert tiny_pdf().startswith(b"%PDF-1.4") and tiny_pdf().rstrip().endswith(b"%%EOF")
    with pytest.raises(ValueError):
        sim.seed_demo()  # a second seed collides instead of duplicating the demo


def test_faults_apply_to_api_routes_not_control_routes(
    base: str, sim: CorrigoProSimulator, auth: dict[str, str]
) -> None:
    sim.faults = Faults(rate_limit_burst=1, retry_after_s=3)
    limited = requests.get(
        f"{base}/api/attachments", params={"WorkOrderId": ACCEPTED}, headers=auth, timeout=TIMEOUT
    )
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert len(listed(base, auth)) == 2
    sim.faults = Faults(error_rate=1.0, seed=1)
    assert requests.get(f"{base}/_sim/corrigopro/deliveries", timeout=TIMEOUT).status_code == 200
    assert upload(base, auth).status_code in (500, 502, 503)
    assert [entry.fault for entry in sim.log[-3:]] == ["rate_limit", None, "error"]


def test_the_certificate_can_be_written_for_the_app(sim: CorrigoProSimulator, tmp_path: Path) -> None:
    path = sim.save_certificate(tmp_path / "var" / "cert.pem")
    assert path.read_bytes() == sim.certificate_pem
