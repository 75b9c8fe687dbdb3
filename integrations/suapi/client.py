"""SU API client for Booking.com property photos: every verb is a JSON POST with app-id and API key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, Unpack

import requests

from integrations.errors import FailureClass, ProviderError, error_for_status
from integrations.http import ProviderSession, Transport, json_body, parse_retry_after
from integrations.suapi.calls import Call
from integrations.suapi.schemas import (
    Created,
    Pending,
    PropertyPhoto,
    parse_created,
    parse_pending,
    parse_property_photos,
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
