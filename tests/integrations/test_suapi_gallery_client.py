"""The SU API gallery verbs, client against simulator over real HTTP: show, update, imageOrder,
retrieveAssociateImages, associate, unassociate, retrieveTags, the sample_url preview, and their refusals."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import requests
from PIL import Image

from integrations.errors import FailureClass, ProviderError
from integrations.http import Exchange
from integrations.suapi.client import SuApiClient
from integrations.suapi.simulator import DEMO_PHOTO_ID, DEMO_ROOM_ID, SuApiSimulator
from tests.integrations.clients import su_client

NT7 = {"hotel_id": "NT7", "channel_hotel_id": "12837615"}


@pytest.fixture
def client(su_sim: SuApiSimulator, settings: Any, exchanges: list[Exchange]) -> SuApiClient:
    su_sim.seed_demo()
    return su_client(settings.SUAPI["BASE_URL"], exchanges)


def outside(su_sim: SuApiSimulator, n: int) -> str:
    return su_sim.add_outside_photo("NT7", seed=60 + n, tags=[13]).photo_id


def test_show_and_its_sample_preview(client: SuApiClient) -> None:
    photo = client.show(**NT7, photo_id=DEMO_PHOTO_ID)
    assert (photo.photo_id, photo.tags) == (DEMO_PHOTO_ID, [101])
    sample = requests.get(photo.sample_url, timeout=5)  # public, no credentials
    assert sample.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(sample.content)).format == "JPEG"
    assert client.fetch_sample(photo.sample_url, max_bytes=10**6, decode=len) == len(sample.content)
    with pytest.raises(ProviderError) as missing:
        client.show(**NT7, photo_id="nope")
    assert (missing.value.code, missing.value.failure_class) == ("578", FailureClass.NOT_FOUND)


def test_update_replaces_tags_and_refuses_unknown_tags_and_photos(
    client: SuApiClient, su_sim: SuApiSimulator
) -> None:
    assert client.update(**NT7, photo_id=DEMO_PHOTO_ID, tags=[13, 73])
    assert su_sim.properties["NT7"].find(DEMO_PHOTO_ID).tags == [13, 73]  # type: ignore[union-attr]
    for tags, photo_id, code in (([424242], DEMO_PHOTO_ID, "574"), ([13, 13], DEMO_PHOTO_ID, "574")):
        with pytest.raises(ProviderError) as refused:
            client.update(**NT7, photo_id=photo_id, tags=tags)
        assert (refused.value.code, refused.value.transient) == (code, False)
    with pytest.raises(ProviderError, match="no photo data found") as unknown:
        client.update(**NT7, photo_id="nope", tags=[13])
    assert unknown.value.code == "578"
    assert su_sim.properties["NT7"].find(DEMO_PHOTO_ID).tags == [13, 73]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("hotel", "code"),
    [({"hotel_id": "NT99", "channel_hotel_id": "1"}, "400"), ({**NT7, "channel_hotel_id": "9"}, "573")],
)
def test_an_unknown_property_is_refused_by_every_gallery_verb(
    client: SuApiClient, hotel: dict[str, str], code: str
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: client.show(**hotel, photo_id=DEMO_PHOTO_ID),
        lambda: client.update(**hotel, photo_id=DEMO_PHOTO_ID, tags=[13]),
        lambda: client.image_order(**hotel, photo_ids=[DEMO_PHOTO_ID]),
        lambda: client.retrieve_associate_images(**hotel),
        lambda: client.associate(**hotel, channel_room_id=DEMO_ROOM_ID, photo_ids=[DEMO_PHOTO_ID]),
        lambda: client.unassociate(**hotel, channel_room_id=DEMO_ROOM_ID, photo_ids=[DEMO_PHOTO_ID]),
    ]
    for call in calls:
        with pytest.raises(ProviderError) as refused:
            call()
        assert refused.value.code == code


def test_order_puts_the_first_as_main_and_keeps_the_rest(client: SuApiClient, su_sim: SuApiSimulator) -> None:
    a, b = outside(su_sim, 1), outside(su_sim, 2)
    before = client.retrieve_associate_images(**NT7)
    assert (before.photo_ids, before.is_ordered) == ([DEMO_PHOTO_ID, a, b], False)
    assert client.image_order(**NT7, photo_ids=[b, DEMO_PHOTO_ID]) == "Image Order Updated Successfully"
    after = client.retrieve_associate_images(**NT7)
    assert after.main_photo is not None and after.main_photo.photo_id == b
    assert (after.photo_ids, after.is_ordered) == ([b, DEMO_PHOTO_ID, a], True)
    assert [photo.photo_id for photo in client.retrieve_all(**NT7)] == [b, DEMO_PHOTO_ID, a]
    with pytest.raises(ProviderError) as unknown:
        client.image_order(**NT7, photo_ids=["nope"])
    assert unknown.value.code == "578"


def test_a_room_gallery_associate_order_unassociate(client: SuApiClient, su_sim: SuApiSimulator) -> None:
    a, b = outside(su_sim, 1), outside(su_sim, 2)
    room = {**NT7, "channel_room_id": DEMO_ROOM_ID}
    assert client.retrieve_associate_images(**room).photo_ids == []
    client.associate(**room, photo_ids=[a, b])
    assert client.retrieve_associate_images(**room).photo_ids == [a, b]
    client.image_order(**room, photo_ids=[b, a])
    ordered = client.retrieve_associate_images(**room)
    assert (ordered.photo_ids, ordered.is_ordered) == ([b, a], True)
    # The property's own order is the room's business no more than the room's is the property's.
    assert client.retrieve_associate_images(**NT7).photo_ids == [DEMO_PHOTO_ID, a, b]
    client.unassociate(**room, photo_ids=[b])
    assert client.retrieve_associate_images(**room).photo_ids == [a]
    with pytest.raises(ProviderError) as not_there:
        client.unassociate(**room, photo_ids=[b])
    assert not_there.value.code == "578"
    with pytest.raises(ProviderError) as no_room:
        client.associate(**NT7, channel_room_id="9999", photo_ids=[a])
    assert no_room.value.code == "400"


def test_the_main_photo_of_an_open_property_is_not_deleted(
    client: SuApiClient, su_sim: SuApiSimulator
) -> None:
    a = outside(su_sim, 1)
    with pytest.raises(ProviderError, match="main photo of an open property"):
        client.delete(**NT7, photo_id=DEMO_PHOTO_ID)
    client.image_order(**NT7, photo_ids=[a])
    client.delete(**NT7, photo_id=DEMO_PHOTO_ID)  # no longer the main photo
    assert [photo.photo_id for photo in client.retrieve_all(**NT7)] == [a]


def test_retrieve_tags_is_a_get_of_ids_and_names(client: SuApiClient, exchanges: list[Exchange]) -> None:
    tags = {tag.tag_id: tag.name for tag in client.retrieve_tags()}
    assert tags[101] == "Property building" and tags[13] == "Bed"
    assert exchanges[-1].method == "GET"


def test_control_routes_add_outside_and_remove_at_booking(su_sim: SuApiSimulator, settings: Any) -> None:
    su_sim.seed_demo()
    base = settings.SUAPI["BASE_URL"]
    added = requests.post(
        f"{base}/_sim/suapi/properties/NT7/photos", json={"seed": 5, "tags": [13]}, timeout=5
    )
    assert added.status_code == 201
    photo_id = added.json()["photo_id"]
    removed = requests.post(f"{base}/_sim/suapi/properties/NT7/photos/{DEMO_PHOTO_ID}/remove", timeout=5)
    assert removed.status_code == 200
    assert [p["photo_id"] for p in removed.json()["photos"]] == [photo_id]
    assert removed.json()["photos"][0]["is_main"]
    gone = requests.post(f"{base}/_sim/suapi/properties/NT7/photos/{DEMO_PHOTO_ID}/remove", timeout=5)
    assert gone.status_code == 404
    room = requests.post(f"{base}/_sim/suapi/properties/NT7/rooms", json={"channel_room_id": "77"}, timeout=5)
    assert room.status_code == 201 and set(room.json()["rooms"]) == {DEMO_ROOM_ID, "77"}


def test_faults_apply_to_the_gallery_verbs(client: SuApiClient, su_sim: SuApiSimulator) -> None:
    su_sim.faults.update({"error_rate": 1.0})
    with pytest.raises(ProviderError) as down:
        client.retrieve_associate_images(**NT7)
    assert down.value.transient


def test_a_sample_of_an_unknown_photo_is_404_and_control_routes_check_their_bodies(
    su_sim: SuApiSimulator, settings: Any
) -> None:
    su_sim.seed_demo()
    base = settings.SUAPI["BASE_URL"]
    assert requests.get(f"{base}/SUAPI/samples/nope.jpg", timeout=5).status_code == 404
    bad = requests.post(f"{base}/_sim/suapi/properties/NT7/photos", json={"colour": 1}, timeout=5)
    assert bad.status_code == 400
    assert requests.post(f"{base}/_sim/suapi/properties/NT99/photos", json={}, timeout=5).status_code == 400
    assert requests.post(f"{base}/_sim/suapi/properties/NT7/rooms", json={}, timeout=5).status_code == 400
