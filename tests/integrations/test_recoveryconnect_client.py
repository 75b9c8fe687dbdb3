"""The RecoveryConnect client against its simulator, over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.errors import FailureClass, ProviderError
from integrations.http import Exchange, RetryPolicy
from integrations.recoveryconnect.client import RecoveryConnectClient
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults
from integrations.tokens import TokenCache
from tests.integrations.clients import rc_client


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(
    rc_sim: RecoveryConnectSimulator, settings: Any, exchanges: list[Exchange], sleeps: list[float]
) -> RecoveryConnectClient:
    rc_sim.add_order(
        57076503,
        9100001,
        photos=[{"id": 180461378, "name": "front.jpg"}, {"id": 180461379, "name": "rear.jpg"}],
    )
    rc_sim.add_order(57076502, 9100002)
    rc_sim.add_order(57076510, 9100010)
    return rc_client(settings.RECOVERYCONNECT["BASE_URL"], exchanges, sleep=sleeps.append)


def test_list_photos_parses_each_photo(client: RecoveryConnectClient) -> None:
    photos = client.list_photos(order_id=57076503)
    assert [(p.id, p.order_id, p.name) for p in photos] == [
        (180461378, 57076503, "front.jpg"),
        (180461379, 57076503, "rear.jpg"),
    ]
    assert photos[0].type_id == 2 and photos[0].type_name
    assert photos[0].photo_url.startswith("http")


def test_token_is_cached_between_calls(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator
) -> None:
    client.list_photos(order_id=57076503)
    client.list_photos(order_id=57076503)
    assert rc_sim.auth_count == 1


def test_expired_token_is_renewed_once_on_401(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator, exchanges: list[Exchange]
) -> None:
    client.list_photos(order_id=57076503)
    rc_sim.expire_tokens()
    assert len(client.list_photos(order_id=57076503)) == 2
    assert rc_sim.auth_count == 2
    assert [(e.operation, e.status_code) for e in exchanges][-3:] == [
        ("list_photos", 401),
        ("auth", 200),
        ("list_photos", 200),
    ]


def test_token_near_expiry_is_renewed_before_use(rc_sim: RecoveryConnectSimulator, settings: Any) -> None:
    now = [1000.0]
    cache = TokenCache(clock=lambda: now[0])
    client = RecoveryConnectClient(
        base_url=settings.RECOVERYCONNECT["BASE_URL"],
        username="demo",
        password="demo-password",
        token_cache=cache,
    )
    rc_sim.add_order(1, 2)
    client.list_photos(order_id=1)
    now[0] += 3600 - 30  # inside the renewal margin of a 3600 s token
    client.list_photos(order_id=1)
    assert rc_sim.auth_count == 2


def test_wrong_password_is_a_permanent_auth_error(
    rc_sim: RecoveryConnectSimulator, settings: Any, exchanges: list[Exchange]
) -> None:
    client = RecoveryConnectClient(
        base_url=settings.RECOVERYCONNECT["BASE_URL"],
        username="demo",
        password="wrong",
        token_cache=TokenCache(),
        on_exchange=exchanges.append,
    )
    with pytest.raises(ProviderError) as caught:
        client.list_photos(order_id=57076503)
    assert caught.value.failure_class == FailureClass.AUTH and not caught.value.transient
    assert "RECOVERYCONNECT_PASSWORD" in caught.value.message
    assert "wrong" not in exchanges[0].request_summary


def test_transfer_photo_gives_one_outcome_per_destination(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator
) -> None:
    outcomes = client.transfer_photo(order_id=57076503, photo_id=180461379, transfer_to=[9100002, 9100010])
    assert [(o.destination, o.photo_id, o.status) for o in outcomes] == [
        (9100002, 180461379, "success"),
        (9100010, 180461379, "success"),
    ]
    assert len(rc_sim.transfers) == 2


def test_transfer_all_gives_one_outcome_per_photo_and_destination(client: RecoveryConnectClient) -> None:
    outcomes = client.transfer_all_photos(order_id=57076503, transfer_to=[9100002])
    assert {(o.destination, o.photo_id) for o in outcomes} == {(9100002, 180461378), (9100002, 180461379)}
    assert all(o.succeeded for o in outcomes)


def test_fail_inside_a_200_is_reported_per_photo(client: RecoveryConnectClient) -> None:
    outcomes = client.transfer_photo(order_id=57076503, photo_id=180461379, transfer_to=[9100002, 9999999])
    assert [(o.destination, o.status) for o in outcomes] == [(9100002, "success"), (9999999, "fail")]


def test_unknown_order_is_a_permanent_not_found(client: RecoveryConnectClient) -> None:
    with pytest.raises(ProviderError) as caught:
        client.list_photos(order_id=1234)
    assert (caught.value.failure_class, caught.value.http_status, caught.value.transient) == (
        FailureClass.NOT_FOUND,
        404,
        False,
    )
    assert "Order not found" in caught.value.message


def test_invalid_body_is_a_permanent_invalid_input(client: RecoveryConnectClient) -> None:
    with pytest.raises(ProviderError) as caught:
        client.transfer_photo(order_id=57076503, photo_id=180461379, transfer_to=[])
    assert (caught.value.failure_class, caught.value.http_status) == (FailureClass.INVALID_INPUT, 422)


@pytest.mark.parametrize("garbage", ["html", "truncated"])
def test_a_200_that_is_not_json_is_a_parse_error(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator, garbage: str
) -> None:
    client.login()
    rc_sim.garbage_next = garbage
    with pytest.raises(ProviderError) as caught:
        client.transfer_photo(order_id=57076503, photo_id=180461379, transfer_to=[9100002])
    assert caught.value.failure_class == FailureClass.PARSE and not caught.value.transient
    assert ("HTML" if garbage == "html" else "invalid JSON") in caught.value.message


def test_429_is_retried_after_the_time_the_provider_asks(
    client: RecoveryConnectClient,
    rc_sim: RecoveryConnectSimulator,
    sleeps: list[float],
    exchanges: list[Exchange],
) -> None:
    client.login()
    rc_sim.faults = Faults(rate_limit_burst=2, retry_after_s=3)
    assert len(client.list_photos(order_id=57076503)) == 2
    # Retry-After (3 s) is longer than backoff_max (0.05 s) here: the cap wins, never a busy loop.
    assert sleeps == [0.05, 0.05]
    assert [e.status_code for e in exchanges if e.operation == "list_photos"] == [429, 429, 200]
    assert [e.attempt for e in exchanges if e.operation == "list_photos"] == [1, 2, 3]


def test_retry_after_is_honoured_when_below_the_cap(rc_sim: RecoveryConnectSimulator, settings: Any) -> None:
    sleeps: list[float] = []
    client = RecoveryConnectClient(
        base_url=settings.RECOVERYCONNECT["BASE_URL"],
        username="demo",
        password="demo-password",
        token_cache=TokenCache(),
        sleep=sleeps.append,
        retry=RetryPolicy(max_attempts=2, backoff_base=0.001, backoff_max=30),
    )
    rc_sim.add_order(1, 2)
    client.login()
    rc_sim.faults = Faults(rate_limit_burst=1, retry_after_s=2)
    client.list_photos(order_id=1)
    assert sleeps == [2.0]


def test_5xx_html_is_transient_and_gives_up_after_max_attempts(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator, exchanges: list[Exchange]
) -> None:
    client.login()
    rc_sim.faults = Faults(error_rate=1.0)
    with pytest.raises(ProviderError) as caught:
        client.list_photos(order_id=57076503)
    assert caught.value.transient and caught.value.failure_class == FailureClass.PROVIDER_ERROR
    assert caught.value.http_status in (500, 502, 503)
    assert len([e for e in exchanges if e.operation == "list_photos"]) == 3


def test_dropped_connection_is_a_transient_connection_error(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator
) -> None:
    client.login()
    rc_sim.faults = Faults(drop_rate=1.0)
    with pytest.raises(ProviderError) as caught:
        client.list_photos(order_id=57076503)
    assert caught.value.failure_class == FailureClass.CONNECTION and caught.value.transient


def test_no_answer_in_time_is_a_transient_timeout(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator
) -> None:
    client.login()
    rc_sim.faults = Faults(hang_rate=1.0, hang_s=1.5)
    with pytest.raises(ProviderError) as caught:
        client.list_photos(order_id=57076503)
    assert caught.value.failure_class == FailureClass.TIMEOUT and caught.value.transient


def test_exchanges_never_carry_the_password_token_or_url_signature(
    client: RecoveryConnectClient, exchanges: list[Exchange]
) -> None:
    token = client.login().access_token
    client.list_photos(order_id=57076503)
    text = repr(exchanges)
    assert "demo-password" not in text and token not in text
    assert "signature=" not in text and "[redacted]" in text


def test_fetch_photo_streams_the_linked_bytes_without_a_token(
    client: RecoveryConnectClient, exchanges: list[Exchange]
) -> None:
    link = client.list_photos(order_id=57076503)[0].photo_url
    data = client.fetch_photo(link, max_bytes=10_000_000, decode=bytes)
    assert data.startswith(b"\xff\xd8")  # a JPEG
    fetch = exchanges[-1]
    assert (fetch.operation, fetch.status_code, fetch.error) == ("fetch_photo", 200, None)
    assert "signature" not in fetch.path and fetch.response_summary.startswith("[streamed body")


def test_fetch_photo_refuses_a_body_past_the_cap(
    client: RecoveryConnectClient, exchanges: list[Exchange]
) -> None:
    link = client.list_photos(order_id=57076503)[0].photo_url
    with pytest.raises(ProviderError) as caught:
        client.fetch_photo(link, max_bytes=1000, decode=bytes)
    assert caught.value.failure_class == FailureClass.TOO_LARGE and exchanges[-1].error is caught.value


def test_fetch_photo_reports_undecodable_bytes_as_a_parse_failure(client: RecoveryConnectClient) -> None:
    link = client.list_photos(order_id=57076503)[0].photo_url

    def decode(data: bytes) -> bytes:
        raise ValueError("not a picture")

    with pytest.raises(ProviderError) as caught:
        client.fetch_photo(link, max_bytes=10_000_000, decode=decode)
    assert (caught.value.failure_class, caught.value.message) == (FailureClass.PARSE, "not a picture")


def test_fetch_photo_expired_link_is_a_permanent_auth_failure(
    client: RecoveryConnectClient, rc_sim: RecoveryConnectSimulator
) -> None:
    link = client.list_photos(order_id=57076503)[0].photo_url
    rc_sim.clock.advance(901)
    with pytest.raises(ProviderError) as caught:
        client.fetch_photo(link, max_bytes=10_000_000, decode=bytes)
    assert (caught.value.http_status, caught.value.transient) == (403, False)
