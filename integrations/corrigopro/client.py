"""CorrigoPro Direct client: attachments of work orders. One typed method per endpoint the app uses."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar, Unpack

import requests

from integrations.corrigopro.calls import Call
from integrations.corrigopro.rules import MAX_MESSAGE_ID
from integrations.corrigopro.schemas import (
    Attachment,
    Uploaded,
    error_from_body,
    parse_attachments,
    parse_download_url,
    parse_message_id,
    parse_token,
    parse_uploaded,
)
from integrations.errors import FailureClass, ProviderError, error_for_status
from integrations.http import Transport, fetch_bytes, json_body, parse_retry_after, stream_into
from integrations.multipart import MultipartStream, new_boundary
from integrations.multipart import content_type as multipart_content_type
from integrations.tokens import BearerTokenClient, TokenCache

PROVIDER = "corrigopro"
TOKENS = TokenCache()
DOWNLOAD_CHUNK = 64 * 1024
T = TypeVar("T")


def new_message_id() -> str:
    """A unique id per request (CorrigoPro allows at most 36 characters: a UUID is exactly that)."""
    message_id = str(uuid.uuid4())
    assert len(message_id) <= MAX_MESSAGE_ID
    return message_id


def checked(response: requests.Response) -> requests.Response:
    """Any status other than 200 is an error; read the documented body when there is one."""
    if response.status_code == 200:
        return response
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if response.status_code in (429,) or response.status_code >= 500:
        raise error_for_status(response.status_code, f"HTTP {response.status_code}", retry_after=retry_after)
    try:
        body = response.json()
    except ValueError:
        body = None
    error = error_from_body(response.status_code, body)
    if error is not None:
        raise error
    raise error_for_status(
        response.status_code, f"HTTP {response.status_code} {response.reason or ''}".strip()
    )


def checked_json(response: requests.Response) -> Any:
    return json_body(checked(response))


class CorrigoProClient(BearerTokenClient):
    provider = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        token_cache: TokenCache = TOKENS,
        **transport: Unpack[Transport],
    ) -> None:
        super().__init__(base_url=base_url, identity=client_id, token_cache=token_cache, **transport)
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret

    def new_token(self) -> str:
        # No refresh token in client credentials: ask again.
        return self.fetch_token()

    # Reference: docs/providers/corrigopro.md, "Authentication" (OAuth 2.0 client credentials, ~20 minutes)
    def fetch_token(self) -> str:
        try:
            token = self._session.request(
                "POST",
                self._token_url,
                operation=Call.AUTH,
                data={
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "grant_type": "client_credentials",
                },
                summary={"client_id": self._client_id, "grant_type": "client_credentials"},
                check=lambda response: parse_token(checked_json(response)),
            )
        except ProviderError as error:
            if error.http_status in (400, 401, 403):
                raise ProviderError(
                    "CorrigoPro refused the client credentials: check CORRIGOPRO_CLIENT_ID and "
                    "CORRIGOPRO_CLIENT_SECRET",
                    failure_class=FailureClass.AUTH,
                    transient=False,
                    http_status=error.http_status,
                ) from None
            raise
        return self._remember(token.access_token, token.expires_in)

    # Reference: docs/providers/corrigopro.md, "Attachments" (List: GET /api/attachments)
    def list_attachments(self, *, work_order_id: int) -> list[Attachment]:
        return self._authorized(
            "GET",
            "/api/attachments",
            operation=Call.LIST_ATTACHMENTS,
            params={"WorkOrderId": work_order_id},
            check=lambda response: parse_attachments(checked_json(response)),
        )

    # Reference: docs/providers/corrigopro.md, "Attachments" (Upload: POST /api/attachments, multipart)
    def upload_attachment(
        self,
        *,
        work_order_id: int,
        open_file: Callable[[], IO[bytes]],
        size: int,
        name: str,
        mime_type: str,
        performed_by: str,
        message_id: str,
        document_type: str = "",
        visibility: str = "",
        performed_by_phone: str = "",
    ) -> Uploaded:
        fields = [
            ("WorkOrderId", str(work_order_id)),
            ("Name", name),
            ("MimeType", mime_type),
            ("PerformedBy.Name", performed_by),
            ("MessageId", message_id),
        ]
        optional = [("DocumentType", document_type), ("MessageVisibility", visibility)]
        optional.append(("PerformedBy.Phone", performed_by_phone))
        fields += [(key, value) for key, value in optional if value]
        boundary = new_boundary()

        def body() -> MultipartStream:
            # A fresh stream per attempt: a retried upload reads the file from storage again.
            return MultipartStream(
                fields=fields,
                file_field="File",
                filename=name,
                content_type=mime_type,
                file=open_file(),
                size=size,
                boundary=boundary,
            )

        return self._authorized(
            "POST",
            "/api/attachments",
            operation=Call.UPLOAD_ATTACHMENT,
            body=body,
            extra_headers={"Content-Type": multipart_content_type(boundary)},
            summary={**dict(fields), "File": f"<{size} bytes>"},
            check=lambda response: parse_uploaded(checked_json(response)),
        )

    # Reference: docs/providers/corrigopro.md, "Attachments" (Update: PUT /api/attachments, metadata only)
    def update_attachment(
        self,
        *,
        work_order_id: int,
        attachment_id: str,
        name: str,
        message_id: str,
        document_type: str = "",
        visibility: str = "",
    ) -> str:
        form = {
            "WorkOrderId": str(work_order_id),
            "AttachmentId": attachment_id,
            "Name": name,
            "MessageId": message_id,
        }
        form.update(
            {
                key: value
                for key, value in (("DocumentType", document_type), ("MessageVisibility", visibility))
                if value
            }
        )
        return self._authorized(
            "PUT",
            "/api/attachments",
            operation=Call.UPDATE_ATTACHMENT,
            files={key: (None, value) for key, value in form.items()},
            summary=form,
            check=lambda response: parse_message_id(checked_json(response)),
        )

    # Reference: docs/providers/corrigopro.md, "Attachments" (Delete: DELETE /api/attachments)
    def delete_attachment(self, *, work_order_id: int, attachment_id: str, message_id: str) -> str:
        form = {"WorkOrderId": str(work_order_id), "AttachmentId": attachment_id, "MessageId": message_id}
        return self._authorized(
            "DELETE",
            "/api/attachments",
            operation=Call.DELETE_ATTACHMENT,
            files={key: (None, value) for key, value in form.items()},  # form data, as documented
            summary=form,
            check=lambda response: parse_message_id(checked_json(response)),
        )

    # Reference: docs/providers/corrigopro.md, "Attachments" (Download: a link valid 15 minutes, never stored)
    def download_url(self, *, work_order_id: int, attachment_id: str) -> str:
        return self._authorized(
            "GET",
            "/api/attachments/downloadUrl",
            operation=Call.DOWNLOAD_URL,
            params={"AttachmentId": attachment_id, "WorkOrderId": work_order_id},
            check=lambda response: parse_download_url(checked_json(response)),
        )

    def open_download(self, url: str) -> requests.Response:
        """The file behind a fresh download link, as a streamed response (the link carries its own
        signature: no bearer token goes with it)."""
        return self._session.request("GET", url, operation=Call.DOWNLOAD_FILE, stream=True, check=checked)

    def fetch_file(self, url: str, *, max_bytes: int, decode: Callable[[bytes], T]) -> T:
        """The file behind a fresh download link, read whole up to `max_bytes` and decoded (a thumbnail)."""
        return fetch_bytes(
            self._session,
            url,
            operation=Call.DOWNLOAD_FILE,
            max_bytes=max_bytes,
            status_check=checked,
            decode=decode,
        )

    def save_file(
        self,
        url: str,
        *,
        max_bytes: int,
        expected_size: int | None,
        start: Callable[[], Callable[[bytes], object]],
    ) -> int:
        """The file behind a fresh download link, streamed a chunk at a time into the writer `start` gives
        (once per attempt); refused past `max_bytes`. Returns its size."""
        return stream_into(
            self._session,
            url,
            operation=Call.DOWNLOAD_FILE,
            max_bytes=max_bytes,
            expected_size=expected_size,
            status_check=checked,
            start=start,
        )

    @staticmethod
    def iter_file(response: requests.Response) -> Iterator[bytes]:
        try:
            yield from response.iter_content(DOWNLOAD_CHUNK)
        finally:
            response.close()
