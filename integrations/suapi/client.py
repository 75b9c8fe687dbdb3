"""SU API client for Booking.com property photos: every verb is a JSON POST with app-id and API key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, Unpack

import requests

from integrations.errors import FailureClass, ProviderError, error_for_status
from integrations.http import ProviderSession, Transport, fetch_bytes, json_body, parse_retry_after
from integrations.suapi.calls import Call
from integrations.suapi.schemas import (
    Associated,
    Created,
    Pending,
    PropertyPhoto,
    Tag,
    parse_associated,
    parse_created,
    parse_message,
    parse_pending,
    parse_property_photo,
    parse_property_photos,
    parse_tags,
    succeeded,
)

PROVIDER = "suapi"
PHOTO_PATH = "/SUAPI/jservice/bdc/photo/"
T = TypeVar("T")


def checked(response: requests.Response) -> dict[str, Any]:
    """A failure can come with HTTP 200: `Status` decides, then the HTTP status."""
    if response.status_code == 429 or response.status_code >= 500:
        raise error_for_status(
            response.status_code,
            f"HTTP {response.status_code}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if response.status_code in (401, 403):
        raise ProviderError(
            "the SU API refused the credentials: check SUAPI_APP_ID and SUAPI_API_KEY",
            failure_class=FailureClass.AUTH,
            transient=False,
            http_status=response.status_code,
        )
    body = succeeded(json_body(response), response.status_code)
    if response.status_code != 200:
        raise error_for_status(response.status_code, f"HTTP {response.status_code}")
    return body


class SuApiClient:
    def __init__(self, *, base_url: str, app_id: str, api_key: str, **transport: Unpack[Transport]) -> None:
        self._session = ProviderSession(provider=PROVIDER, base_url=base_url, **transport)
        # The documented scheme: the key itself in Authorization, no "Bearer".
        self._headers = {"app-id": app_id, "Authorization": api_key}

    def _post(
        self,
        verb: Call,
        payload: dict[str, Any],
        parse: Callable[[dict[str, Any]], T],
        *,
        idempotent: bool = True,
    ) -> T:
        return self._session.request(
            "POST",
            PHOTO_PATH + verb,
            operation=verb,
            headers=self._headers,
            json_payload=payload,
            check=lambda response: parse(checked(response)),
            idempotent=idempotent,
        )

    # Reference: docs/providers/suapi.md, "Verbs" (create)
    def create(self, *, hotel_id: str, channel_hotel_id: str, images: list[tuple[str, list[int]]]) -> Created:
        payload = {
            "hotel_id": hotel_id,
            "channel_hotel_id": channel_hotel_id,
            "images": [{"url": url, "tags": tags} for url, tags in images],
        }
        # No idempotency key and no way to find a batch before Booking.com processes it: a create whose
        # answer was lost is not sent again (it would become a second batch of the same photos).
        return self._post(Call.CREATE, payload, parse_created, idempotent=False)

    # Reference: docs/providers/suapi.md, "Verbs" (pendingImages) and "A photo's status"
    def pending_images(self, *, hotel_id: str, channel_hotel_id: str, batch_id: str) -> Pending:
        payload = {"hotel_id": hotel_id, "channel_hotel_id": channel_hotel_id, "photo_batch_id": batch_id}
        return self._post(Call.PENDING_IMAGES, payload, parse_pending)

    # Reference: docs/providers/suapi.md, "Verbs" (retrieveAll)
    def retrieve_all(self, *, hotel_id: str, channel_hotel_id: str) -> list[PropertyPhoto]:
        payload = {"hotel_id": hotel_id, "channel_hotel_id": channel_hotel_id}
        return self._post(Call.RETRIEVE_ALL, payload, parse_property_photos)

    # Reference: docs/providers/suapi.md, "Verbs" (delete: one photo_id per request)
    def delete(self, *, hotel_id: str, channel_hotel_id: str, photo_id: str) -> str:
        payload = {"hotel_id": hotel_id, "channel_hotel_id": channel_hotel_id, "photo_id": photo_id}
        return self._post(Call.DELETE, payload, lambda body: str(body.get("Ruid") or ""))

    # Reference: docs/providers/suapi.md, "Verbs" (show)
    def show(self, *, hotel_id: str, channel_hotel_id: str, photo_id: str) -> PropertyPhoto:
        payload = {"hotel_id": hotel_id, "channel_hotel_id": channel_hotel_id, "photo_id": photo_id}
        return self._post(Call.SHOW, payload, parse_property_photo)

    # Reference: docs/providers/suapi.md, "Gallery, tags and rooms" (update)
    def update(self, *, hotel_id: str, channel_hotel_id: str, photo_id: str, tags: list[int]) -> str:
        payload = {
            "hotel_id": hotel_id,
            "channel_hotel_id": channel_hotel_id,
            "photo_id": photo_id,
            "tags": tags,
        }
        # Replaces the tags: sending it twice leaves the same tags.
        return self._post(Call.UPDATE, payload, parse_message)

    # Reference: docs/providers/suapi.md, "Gallery, tags and rooms" (imageOrder)
    def image_order(
        self, *, hotel_id: str, channel_hotel_id: str, photo_ids: list[str], channel_room_id: str = ""
    ) -> str:
        payload: dict[str, Any] = {"hotel_id": hotel_id, "channel_hotel_id": channel_hotel_id}
        if channel_room_id:
            payload["channel_room_id"] = channel_room_id
        payload["photo_ids"] = photo_ids
        return self._post(Call.IMAGE_ORDER, payload, parse_message)

    # Reference: docs/providers/suapi.md, "Gallery, tags and rooms" (retrieveAssociateImages)
    def retrieve_associate_images(
        self, *, hotel_id: str, channel_hotel_id: str, channel_room_id: str = ""
    ) -> Associated:
        payload = {"hotel_id": hotel_id, "channel_hotel_id": channel_hotel_id}
        if channel_room_id:
            payload["channel_room_id"] = channel_room_id
        return self._post(Call.RETRIEVE_ASSOCIATE_IMAGES, payload, parse_associated)

    # Reference: docs/providers/suapi.md, "Gallery, tags and rooms" (associate, unassociate)
    def associate(
        self, *, hotel_id: str, channel_hotel_id: str, channel_room_id: str, photo_ids: list[str]
    ) -> str:
        return self._post(
            Call.ASSOCIATE,
            _room_payload(hotel_id, channel_hotel_id, channel_room_id, photo_ids),
            parse_message,
        )

    # Reference: docs/providers/suapi.md, "Gallery, tags and rooms" (associate, unassociate)
    def unassociate(
        self, *, hotel_id: str, channel_hotel_id: str, channel_room_id: str, photo_ids: list[str]
    ) -> str:
        return self._post(
            Call.UNASSOCIATE,
            _room_payload(hotel_id, channel_hotel_id, channel_room_id, photo_ids),
            parse_message,
        )

    # Reference: docs/providers/suapi.md, "Gallery, tags and rooms" (retrieveTags)
    def retrieve_tags(self) -> list[Tag]:
        # The one GET: no body, the same headers.
        return self._session.request(
            "GET",
            PHOTO_PATH + Call.RETRIEVE_TAGS,
            operation=Call.RETRIEVE_TAGS,
            headers=self._headers,
            check=lambda response: parse_tags(checked(response)),
        )

    # Reference: docs/providers/suapi.md, "Gallery, tags and rooms" (sample_url)
    def fetch_sample(self, url: str, *, max_bytes: int, decode: Callable[[bytes], T]) -> T:
        """A photo's public watermarked preview: a plain GET of the URL retrieveAll gave, no credentials."""
        return fetch_bytes(
            self._session,
            url,
            operation=Call.FETCH_PHOTO,
            max_bytes=max_bytes,
            status_check=checked_file,
            decode=decode,
        )


def _room_payload(
    hotel_id: str, channel_hotel_id: str, channel_room_id: str, photo_ids: list[str]
) -> dict[str, Any]:
    return {
        "hotel_id": hotel_id,
        "channel_hotel_id": channel_hotel_id,
        "channel_room_id": channel_room_id,
        "photo_ids": photo_ids,
    }


def checked_file(response: requests.Response) -> None:
    if response.status_code != 200:
        raise error_for_status(
            response.status_code,
            f"HTTP {response.status_code} for the photo's preview",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
