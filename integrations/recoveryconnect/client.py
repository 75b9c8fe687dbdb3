"""RecoveryConnect (MBSI) client: one typed method per endpoint the app uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import IO, Any, TypedDict, TypeVar, Unpack

import requests

from integrations.base64json import CONTENT_TYPE, Base64JsonStream, base64_summary
from integrations.errors import FailureClass, ProviderError, error_for_status
from integrations.http import OutgoingRequest, Transport, fetch_bytes, json_body, parse_retry_after
from integrations.recoveryconnect.calls import Call
from integrations.recoveryconnect.schemas import (
    Document,
    Photo,
    Recovery,
    Token,
    TransferOutcome,
    UploadedPhoto,
    parse_documents,
    parse_photos,
    parse_recoveries,
    parse_token,
    parse_transfer,
    parse_uploaded,
)
from integrations.tokens import BearerTokenClient, TokenCache

PROVIDER = "recoveryconnect"
TOKENS = TokenCache()
T = TypeVar("T")
# How an upload's picture_time is written ("YYYY-MM-DD HH:mm:ss" in the docs).
PICTURE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def checked_json(response: requests.Response) -> Any:
    """Every documented success is a 200 with JSON. MBSI publishes no error body; when one comes as
    JSON with a "message" we show it, otherwise the status line."""
    if response.status_code == 200:
        return json_body(response)
    message = response.reason or "error"
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message = body["message"] + _field_errors(body.get("errors"))
    except ValueError:
        pass
    raise error_for_status(
        response.status_code,
        f"HTTP {response.status_code}: {message}",
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def _field_errors(errors: Any) -> str:
    """A 422's field errors (Laravel's `{"errors": {field: [messages]}}`), said after its message."""
    if not isinstance(errors, dict):
        return ""
    said = [
        f"{field}: {' '.join(str(m) for m in messages) if isinstance(messages, list) else messages}"
        for field, messages in errors.items()
    ]
    return f" ({'; '.join(said)})"[:500] if said else ""


def checked_file(response: requests.Response) -> None:
    """A photo link answers the picture with 200; anything else (an expired or tampered link's 403, a
    missing file's 404, a 5xx) is an error, read by its status."""
    if response.status_code != 200:
        raise error_for_status(
            response.status_code,
            f"HTTP {response.status_code} {response.reason or ''} for the photo link".replace("  ", " "),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )


def _transfer_photo_path(order_id: int, photo_id: int) -> str:
    return f"/api/v130/orders/{order_id}/photos/{photo_id}"


class PhotoUpload(TypedDict):
    """What both photo uploads take besides the type: where to, the file, and what RecoveryConnect records."""

    order_id: int
    recovery_id: int
    open_file: Callable[[], IO[bytes]]
    size: int
    file_name: str
    image_name: str
    picture_time: datetime


class RecoveryConnectClient(BearerTokenClient):
    provider = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        token_cache: TokenCache = TOKENS,
        **transport: Unpack[Transport],
    ) -> None:
        super().__init__(base_url=base_url, identity=username, token_cache=token_cache, **transport)
        self._username = username
        self._password = password

    def new_token(self) -> str:
        # The refresh call is not documented: a new token is a new login.
        return self.login().access_token

    # Reference: docs/providers/recoveryconnect.md, "Authentication" (POST /api/v140/auth)
    def login(self) -> Token:
        try:
            token = self._session.request(
                "POST",
                "/api/v140/auth",
                operation=Call.AUTH,
                json_payload={"username": self._username, "password": self._password},
                check=lambda response: parse_token(checked_json(response)),
            )
        except ProviderError as error:
            if error.http_status in (401, 403, 422):
                raise ProviderError(
                    "RecoveryConnect refused the login: check RECOVERYCONNECT_USERNAME and "
                    "RECOVERYCONNECT_PASSWORD",
                    failure_class=FailureClass.AUTH,
                    transient=False,
                    http_status=error.http_status,
                ) from None
            raise
        self._remember(token.access_token, token.expires_in)
        return token

    # Reference: docs/providers/recoveryconnect.md, "List an order's photos"
    def list_photos(self, *, order_id: int) -> list[Photo]:
        return self._authorized(
            "GET",
            f"/api/v140/orders/{order_id}/photos",
            operation=Call.LIST_PHOTOS,
            check=lambda response: parse_photos(checked_json(response)),
        )

    # Reference: docs/providers/recoveryconnect.md, "Transfer photos" (one photo)
    def transfer_photo(
        self, *, order_id: int, photo_id: int, transfer_to: list[int]
    ) -> list[TransferOutcome]:
        return self._authorized(
            "PUT",
            _transfer_photo_path(order_id, photo_id),
            operation=Call.TRANSFER_PHOTO,
            json_payload={"transfer_to": transfer_to},
            idempotent=False,  # a second transfer makes a second copy
            check=lambda response: parse_transfer(checked_json(response)),
        )

    def transfer_photo_request(
        self, *, order_id: int, photo_id: int, transfer_to: list[int]
    ) -> OutgoingRequest:
        """transfer_photo's first attempt as its request row records it, before it is sent."""
        return self._session.describe(
            "PUT",
            _transfer_photo_path(order_id, photo_id),
            operation=Call.TRANSFER_PHOTO,
            summary={"transfer_to": transfer_to},
        )

    # Reference: docs/providers/recoveryconnect.md, "Transfer photos" (every photo of the order)
    def transfer_all_photos(self, *, order_id: int, transfer_to: list[int]) -> list[TransferOutcome]:
        return self._authorized(
            "PUT",
            f"/api/v130/orders/{order_id}/photos/transfer",
            operation=Call.TRANSFER_ALL_PHOTOS,
            json_payload={"transfer_to": transfer_to},
            idempotent=False,
            check=lambda response: parse_transfer(checked_json(response)),
        )

    # Reference: docs/providers/recoveryconnect.md, "Recoveries"
    def list_recoveries(self, *, order_id: int) -> list[Recovery]:
        return self._authorized(
            "GET",
            f"/api/v140/orders/{order_id}/recoveries",
            operation=Call.LIST_RECOVERIES,
            check=lambda response: parse_recoveries(checked_json(response)),
        )

    # Reference: docs/providers/recoveryconnect.md, "Recovery photos" (listed as an order's photos are)
    def list_recovery_photos(self, *, order_id: int, recovery_id: int) -> list[Photo]:
        return self._authorized(
            "GET",
            f"/api/v130/orders/{order_id}/recoveries/{recovery_id}/photos",
            operation=Call.LIST_RECOVERY_PHOTOS,
            check=lambda response: parse_photos(checked_json(response)),
        )

    # Reference: docs/providers/recoveryconnect.md, "Upload a photo to a recovery"
    def upload_photo(self, *, type_id: int, **upload: Unpack[PhotoUpload]) -> UploadedPhoto:
        path = f"/api/v130/orders/{upload['order_id']}/recoveries/{upload['recovery_id']}/photos"
        return self._upload(path, Call.UPLOAD_PHOTO, upload, type_id, personal=False)

    # Reference: docs/providers/recoveryconnect.md, "Upload a personal-property photo" (type optional)
    def upload_personal_photo(
        self, *, type_id: int | None = None, **upload: Unpack[PhotoUpload]
    ) -> UploadedPhoto:
        path = f"/api/v150/orders/{upload['order_id']}/recoveries/{upload['recovery_id']}/personals/photos"
        return self._upload(path, Call.UPLOAD_PERSONAL_PHOTO, upload, type_id, personal=True)

    def _upload(
        self, path: str, operation: Call, upload: PhotoUpload, type_id: int | None, *, personal: bool
    ) -> UploadedPhoto:
        fields: dict[str, Any] = {
            "file_name": upload["file_name"],
            "image_name": upload["image_name"],
            "picture_time": upload["picture_time"].strftime(PICTURE_TIME_FORMAT),
        }
        if type_id is not None:
            fields["type"] = type_id
        size = upload["size"]

        def body() -> Base64JsonStream:
            # A fresh stream per attempt: a retried upload reads the file from storage again.
            return Base64JsonStream(fields=fields, data_field="data", file=upload["open_file"](), size=size)

        return self._authorized(
            "POST",
            path,
            operation=operation,
            body=body,
            extra_headers={"Content-Type": CONTENT_TYPE},
            summary=base64_summary(fields, "data", size),
            idempotent=False,  # a second upload makes a second photo
            check=lambda response: parse_uploaded(checked_json(response), personal=personal),
        )

    # Reference: docs/providers/recoveryconnect.md, "List an order's photos" (photo_url: pre-signed,
    # short-lived; the link is the credential, so no bearer token goes with it)
    def fetch_photo(self, url: str, *, max_bytes: int, decode: Callable[[bytes], T]) -> T:
        return fetch_bytes(
            self._session,
            url,
            operation=Call.FETCH_PHOTO,
            max_bytes=max_bytes,
            status_check=checked_file,
            decode=decode,
        )

    # Reference: docs/providers/recoveryconnect.md, "Documents" (list: the field names are our pick, the
    # download link lasts about 30 minutes and is never stored)
    def list_documents(self, *, order_id: int) -> list[Document]:
        return self._authorized(
            "GET",
            f"/api/v130/orders/{order_id}/documents",
            operation=Call.LIST_DOCUMENTS,
            check=lambda response: parse_documents(checked_json(response)),
        )

    # Reference: docs/providers/recoveryconnect.md, "Documents" (transfer: every document of the order;
    # no per-document call exists)
    def transfer_documents(self, *, order_id: int, transfer_to: list[int]) -> list[TransferOutcome]:
        return self._authorized(
            "PUT",
            f"/api/v150/orders/{order_id}/documents/transfer",
            operation=Call.TRANSFER_DOCUMENTS,
            json_payload={"transfer_to": transfer_to},
            idempotent=False,  # a second transfer makes a second copy of every document
            check=lambda response: parse_transfer(checked_json(response)),
        )
