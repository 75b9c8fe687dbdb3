"""The SU API client against its simulator, over real HTTP: every verb, both error envelopes."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.errors import FailureClass, ProviderError
from integrations.http import Exchange
from integrations.suapi.client import SuApiClient
from integrations.suapi.simulator import DEMO_PHOTO_ID, SuApiSimulator
from tests.integrations.clients import su_client


@pytest.fixture
def client(su_sim: SuApiSimulator, settings: Any, exchanges: list[Exchange]) -> SuApiClient:
    su_sim.seed_demo()
    return su_client(settings.SUAPI["BASE_URL"], exchanges)


def test_create_then_pending_images(client: SuApiClient) -> None:
    created = client.create(
        hotel_id="NT7", channel_hotel_id="12837615", images=[("http://127.0.0.1:9/a.jpg", [13])]
    )
    assert created.batch_id and created.ruid
    pending = client.pending_images(hotel_id="NT7", channel_hotel_id="12837615", batch_id=created.batch_id)
    (photo,) = pending.photos
    assert (photo.status, photo.final, photo.url) == ("new", False, "http://127.0.0.1:9/a.jpg")
    assert photo.photo_pending_id and pending.ruid


def test_retrieve_all_and_delete(client: SuApiClient) -> None:
    photos = client.retrieve_all(hotel_id="NT7", channel_hotel_id="12837615")
    assert [p.photo_id for p in photos] == [DEMO_PHOTO_ID] and photos[0].tags
    with pytest.raises(ProviderError, match="main photo of an open property"):
        client.delete(hotel_id="NT7", channel_hotel_id="12837615", photo_id=DEMO_PHOTO_ID)


@pytest.mark.parametrize(
    ("hotel", "channel", "tags", "code", "failure_class"),
    [
        ("NT711", "12837615", [13], "400", FailureClass.INVALID_INPUT),
        ("NT7", "1", [13], "573", FailureClass.PROVIDER_RULE),
        ("NT7", "12837615", [424242], "574", FailureClass.INVALID_INPUT),
    ],
)
def test_fail_inside_a_200_is_a_failure_with_its_code(
    client: SuApiClient, hotel: str, channel: str, tags: list[int], code: str, failure_class: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        client.create(hotel_id=hotel, channel_hotel_id=channel, images=[("http://127.0.0.1:9/a.jpg", tags)])
    assert (caught.value.code, caught.value.failure_class, caught.value.http_status) == (
        code,
        failure_class,
        200,
    )


def test_no_images_and_no_photos_are_578(client: SuApiClient) -> None:
    with pytest.raises(ProviderError) as caught:
        client.create(hotel_id="NT7", channel_hotel_id="12837615", images=[])
    assert caught.value.code == "578"
    with pytest.raises(ProviderError) as caught:
        client.retrieve_all(hotel_id="NT8", channel_hotel_id="12837616")
    assert (caught.value.code, caught.value.failure_class) == ("578", FailureClass.NOT_FOUND)


def test_an_unknown_batch_is_the_message_envelope(client: SuApiClient) -> None:
    with pytest.raises(ProviderError) as caught:
        client.pending_images(hotel_id="NT7", channel_hotel_id="12837615", batch_id="nope")
    assert (
        caught.value.failure_class == FailureClass.NOT_FOUND
        and "is not an accepted value" in caught.value.message
    )
    assert caught.value.reference  # the Ruid travels with the failure


def test_wrong_key_is_auth_and_the_key_is_never_recorded(
    su_sim: SuApiSimulator, settings: Any, exchanges: list[Exchange]
) -> None:
    client = SuApiClient(
        base_url=settings.SUAPI["BASE_URL"],
        app_id="demo-app",
        api_key="wrong-key",
        on_exchange=exchanges.append,
    )
    with pytest.raises(ProviderError) as caught:
        client.retrieve_all(hotel_id="NT7", channel_hotel_id="12837615")
    assert caught.value.failure_class == FailureClass.AUTH and "SUAPI_API_KEY" in caught.value.message
    assert "wrong-key" not in repr(exchanges)


def test_html_where_json_was_promised_is_a_parse_error(client: SuApiClient, su_sim: SuApiSimulator) -> None:
    su_sim.garbage_next = "html"
    with pytest.raises(ProviderError) as caught:
        client.retrieve_all(hotel_id="NT7", channel_hotel_id="12837615")
    assert caught.value.failure_class == FailureClass.PARSE
