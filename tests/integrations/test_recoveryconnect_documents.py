"""RecoveryConnect documents: the simulator's endpoints and the client's two methods, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from integrations.errors import FailureClass, ProviderError
from integrations.http import Exchange
from integrations.recoveryconnect.client import RecoveryConnectClient
from integrations.recoveryconnect.schemas import parse_documents
from integrations.recoveryconnect.simulator import DEMO_DOCUMENTS, RecoveryConnectSimulator
from integrations.simkit import Faults
from tests.integrations.clients import rc_bearer, rc_client

TIMEOUT = 2.0


@pytest.fixture
def base(rc_sim: RecoveryConnectSimulator, settings: Any) -> str:
    rc_sim.add_order(57076503, 9100001)
    rc_sim.add_order(57076502, 9100002)
    rc_sim.add_order(57076510, 9100010, closed=True)
    rc_sim.add_document(
        57076503, "condition-report.pdf", "Dana Whitfield", id=7300001, created_at="2026-11-02 10:15:00"
    )
    rc_sim.add_document(57076503, "release-form.pdf", "Marco Ruiz", id=7300002)
    return str(settings.RECOVERYCONNECT["BASE_URL"])


@pytest.fixture
def auth(base: str) -> dict[str, str]:
    return rc_bearer(base)


@pytest.fixture
def client(base: str, exchanges: list[Exchange]) -> RecoveryConnectClient:
    return rc_client(base, exchanges)


def test_list_documents_has_our_chosen_shape(base: str, auth: dict[str, str]) -> None:
    answer = requests.get(f"{base}/api/v130/orders/57076503/documents", headers=auth, timeout=TIMEOUT)
    assert answer.status_code == 200
    first, second = answer.json()["data"]
    assert set(first) == {"id", "order_id", "name", "uploaded_by", "created_at", "document_url"}
    assert (first["id"], first["order_id"], first["name"], first["uploaded_by"], first["created_at"]) == (
        7300001,
        57076503,
        "condition-report.pdf",
        "Dana Whitfield",
        "2026-11-02 10:15:00",
    )
    assert second["name"] == "release-form.pdf"
    assert "signature=" in first["document_url"]


def test_document_link_serves_a_pdf_without_a_token_and_expires_after_30_minutes(
    base: str, auth: dict[str, str], rc_sim: RecoveryConnectSimulator
) -> None:
    listed = requests.get(f"{base}/api/v130/orders/57076503/documents", headers=auth, timeout=TIMEOUT)
    link = listed.json()["data"][1]["document_url"]
    served = requests.get(link, timeout=TIMEOUT)
    assert served.status_code == 200 and served.headers["Content-Type"] == "application/pdf"
    assert served.content.startswith(b"%PDF-") and b"release-form.pdf" in served.content
    assert requests.get(link.replace("signature=", "signature=0"), timeout=TIMEOUT).status_code == 403
    rc_sim.clock.advance(29 * 60)
    assert requests.get(link, timeout=TIMEOUT).status_code == 200
    rc_sim.clock.advance(2 * 60)
    expired = requests.get(link, timeout=TIMEOUT)
    assert expired.status_code == 403 and b"Request has expired" in expired.content


def test_documents_without_a_token_is_401_and_an_unknown_order_404(base: str, auth: dict[str, str]) -> None:
    assert requests.get(f"{base}/api/v130/orders/57076503/documents", timeout=TIMEOUT).status_code == 401
    unauthorized = requests.put(
        f"{base}/api/v150/orders/57076503/documents/transfer",
        json={"transfer_to": [9100002]},
        timeout=TIMEOUT,
    )
    assert unauthorized.status_code == 401
    assert (
        requests.get(f"{base}/api/v130/orders/1/documents", headers=auth, timeout=TIMEOUT).status_code == 404
    )
    missing = requests.put(
        f"{base}/api/v150/orders/1/documents/transfer",
        headers=auth,
        json={"transfer_to": [9100002]},
        timeout=TIMEOUT,
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "body", [{}, {"transfer_to": []}, {"transfer_to": "9100002"}, {"transfer_to": [True]}]
)
def test_a_bad_transfer_to_is_422(base: str, auth: dict[str, str], body: Any) -> None:
    answer = requests.put(
        f"{base}/api/v150/orders/57076503/documents/transfer", headers=auth, json=body, timeout=TIMEOUT
    )
    assert answer.status_code == 422 and "transfer_to" in answer.json()["errors"]


def test_transfer_moves_every_document_with_one_entry_per_document_and_destination(
    base: str, auth: dict[str, str], rc_sim: RecoveryConnectSimulator
) -> None:
    answer = requests.put(
        f"{base}/api/v150/orders/57076503/documents/transfer",
        headers=auth,
        json={"transfer_to": [9100002, 9100010, 9109999]},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200
    entries = [(o["id"], a["id"], a["status"]) for o in answer.json()["orders"] for a in o["attachments"]]
    assert sorted(entries) == [
        (9100002, 7300001, "success"),
        (9100002, 7300002, "success"),
        (9100010, 7300001, "fail"),  # closed
        (9100010, 7300002, "fail"),
        (9109999, 7300001, "fail"),  # unknown
        (9109999, 7300002, "fail"),
    ]
    # The destination lists the copies, under new ids.
    copies = requests.get(f"{base}/api/v130/orders/57076502/documents", headers=auth, timeout=TIMEOUT).json()
    assert [(d["name"], d["uploaded_by"]) for d in copies["data"]] == [
        ("condition-report.pdf", "Dana Whitfield"),
        ("release-form.pdf", "Marco Ruiz"),
    ]
    assert {d["id"] for d in copies["data"]}.isdisjoint({7300001, 7300002})
    transfers = requests.get(f"{base}/_sim/recoveryconnect/document-transfers", timeout=TIMEOUT).json()
    assert [(t["document_id"], t["dest_client_order_id"]) for t in transfers["transfers"]] == [
        (7300001, 9100002),
        (7300002, 9100002),
    ]


def test_control_routes_add_and_list_documents(base: str) -> None:
    added = requests.post(
        f"{base}/_sim/recoveryconnect/documents",
        json={"order_id": 57076502, "name": "keys.pdf", "uploaded_by": "Priya Nair"},
        timeout=TIMEOUT,
    )
    assert added.status_code == 201 and added.json()["name"] == "keys.pdf"
    unknown = requests.post(
        f"{base}/_sim/recoveryconnect/documents", json={"order_id": 1, "name": "x.pdf"}, timeout=TIMEOUT
    )
    assert unknown.status_code == 400
    listed = requests.get(f"{base}/_sim/recoveryconnect/documents", timeout=TIMEOUT).json()["documents"]
    assert [(d["order_id"], d["name"]) for d in listed] == [
        (57076503, "condition-report.pdf"),
        (57076503, "release-form.pdf"),
        (57076502, "keys.pdf"),
    ]


def test_the_demo_seed_gives_the_demo_orders_documents(rc_sim: RecoveryConnectSimulator) -> None:
    rc_sim.seed_demo()
    held = [(order_id, d.name, d.uploaded_by) for order_id, ds in rc_sim.documents.items() for d in ds]
    assert held == DEMO_DOCUMENTS


def test_client_lists_documents_with_uploader_and_provider_time(client: RecoveryConnectClient) -> None:
    documents = client.list_documents(order_id=57076503)
    assert [(d.id, d.order_id, d.name, d.uploaded_by) for d in documents] == [
        (7300001, 57076503, "condition-report.pdf", "Dana Whitfield"),
        (7300002, 57076503, "release-form.pdf", "Marco Ruiz"),
    ]
    assert documents[0].created_at == datetime(2026, 11, 2, 10, 15)  # naive: the caller knows the zone
    assert documents[0].document_url.startswith("http")


def test_client_reads_an_uploader_given_as_an_object(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator
) -> None:
    rc_sim.uploader_as_object = True
    assert [d.uploaded_by for d in client.list_documents(order_id=57076503)] == [
        "Dana Whitfield",
        "Marco Ruiz",
    ]


def test_parse_is_tolerant_where_the_page_is_silent_but_never_guesses_an_id() -> None:
    body = {
        "data": [
            {"id": 1, "name": "a.pdf", "uploaded_by": {"first_name": "Ann", "last_name": "Lee"}},
            {
                "id": 2,
                "uploader": "Bo",
                "created_at": "2026-11-02T10:15:00Z",
                "download_url": "https://x/y?s=1",
            },
            {"id": 3, "created_at": "yesterday", "uploaded_by": 7},
        ]
    }
    first, second, third = parse_documents(body)
    assert (first.uploaded_by, first.created_at, first.document_url) == ("Ann Lee", None, "")
    assert (second.uploaded_by, second.created_at) == ("Bo", datetime(2026, 11, 2, 10, 15, tzinfo=UTC))
    assert second.document_url == "https://x/y?s=1"
    assert (third.uploaded_by, third.created_at) == ("", None)
    bad_bodies: list[Any] = [
        {"data": [{"id": "1"}]},
        {"data": [{"name": "no id"}]},
        {"data": [{"id": -5}]},
        {"data": [{"id": 2**63}]},
        {"data": {}},
        [],
    ]
    for bad in bad_bodies:
        with pytest.raises(ProviderError) as caught:
            parse_documents(bad)
        assert caught.value.failure_class == FailureClass.PARSE


def test_client_transfer_documents_reads_each_entry(client: RecoveryConnectClient) -> None:
    outcomes = client.transfer_documents(order_id=57076503, transfer_to=[9100002, 9100010])
    assert sorted((o.destination, o.photo_id, o.status) for o in outcomes) == [
        (9100002, 7300001, "success"),
        (9100002, 7300002, "success"),
        (9100010, 7300001, "fail"),
        (9100010, 7300002, "fail"),
    ]


def test_faults_apply_to_documents_and_the_client_retries_5xx_but_not_the_transfer_on_no_answer(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator, exchanges: list[Exchange]
) -> None:
    client.login()
    rc_sim.faults = Faults(error_rate=1.0)
    with pytest.raises(ProviderError) as caught:
        client.list_documents(order_id=57076503)
    assert caught.value.http_status in (500, 502, 503)
    listed = [e for e in exchanges if e.operation == "list_documents"]
    assert len(listed) == 3  # retried, then given up
    rc_sim.faults = Faults(rate_limit_burst=1, retry_after_s=0)
    assert len(client.list_documents(order_id=57076503)) == 2
    exchanges.clear()
    rc_sim.faults = Faults(drop_rate=1.0)
    with pytest.raises(ProviderError) as dropped:
        client.transfer_documents(order_id=57076503, transfer_to=[9100002])
    assert dropped.value.unconfirmed
    assert len([e for e in exchanges if e.operation == "transfer_documents"]) == 1  # not idempotent: once
