"""The CorrigoPro attachments API: list, upload, update, delete, download links and the files behind them,
with the provider's coded errors."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from integrations.corrigopro.simulator.auth import _Auth
from integrations.corrigopro.simulator.forms import _Checker, _flatten, _parse_multipart, _Part, _size_text
from integrations.corrigopro.simulator.state import (
    DOCUMENT_TYPES,
    LINK_TTL_S,
    VISIBILITIES,
    SimAttachment,
    SimWorkOrder,
    Upload,
)
from integrations.simkit import BadRequestError, SimRequest, SimResponse, json_response, text_response

ERROR_MESSAGES = {
    2100: "The request is invalid.",
    3000: "Business rule violation.",
    3001: "Work order state is invalid for the operation",
    3002: "Work order is prebilled",
    3003: "Referenced entity not found",
    3005: "Work order not found or recalled",
}


class _Api(_Auth):
    """The attachment routes an app calls with a bearer token, and the download links."""

    def _error(
        self, code: int, values: dict[str, Any], validation_errors: list[tuple[str, str]] | None = None
    ) -> SimResponse:
        message_id = values.get("MessageId")
        body = {
            "Code": code,
            "Message": ERROR_MESSAGES[code],
            "ValidationErrors": [
                {"PropertyName": name, "ErrorMessage": message} for name, message in validation_errors or []
            ],
            "MessageId": message_id if isinstance(message_id, str) and message_id else str(uuid.uuid4()),
        }
        return json_response(400, body)

    def _not_found(self, code: int, values: dict[str, Any]) -> SimResponse:
        if self.bare_404_next:
            self.bare_404_next = False
            return SimResponse(404)
        return self._error(code, values)

    def _invalid(self, values: dict[str, Any], errors: list[tuple[str, str]]) -> SimResponse:
        return self._error(2100, values, errors)

    def _work_order(self, work_order_id: int, values: dict[str, Any]) -> SimWorkOrder | SimResponse:
        work_order = self.work_orders.get(work_order_id)
        if work_order is None or work_order.status == "Recalled":
            return self._not_found(3005, values)
        return work_order

    def _checked_work_order(
        self, values: dict[str, Any], check: _Checker, work_order_id: int
    ) -> SimWorkOrder | SimResponse:
        """Once a request's fields are checked: their errors, else the work order they name (or why not)."""
        if check.errors:
            return self._invalid(values, check.errors)
        return self._work_order(work_order_id, values)

    def _read_form(self, request: SimRequest) -> tuple[dict[str, Any], _Part | None] | SimResponse:
        content_type = request.header("Content-Type") or ""
        media_type = content_type.partition(";")[0].strip().lower()
        values: dict[str, Any] = {}
        file: _Part | None = None
        try:
            if media_type == "multipart/form-data":
                parts = _parse_multipart(request.body, content_type)
                file = parts.pop("File", None)
                values = {name: part.data.decode("utf-8") for name, part in parts.items()}
            elif media_type == "application/x-www-form-urlencoded":
                values = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            elif request.body.strip():
                body = request.json()
                if not isinstance(body, dict):
                    raise BadRequestError("The request body must be a JSON object.")
                values = _flatten(body)
        except (BadRequestError, UnicodeDecodeError) as error:
            return self._invalid({}, [("Body", str(error))])
        for name, value in request.query.items():
            values.setdefault(name, value)
        return values, file

    def _list(self, request: SimRequest) -> SimResponse:
        if (denied := self._denied(request)) is not None:
            return denied
        check = _Checker(request.query)
        work_order_id = check.integer("WorkOrderId")
        work_order = self._checked_work_order(request.query, check, work_order_id)
        if isinstance(work_order, SimResponse):
            return work_order
        return json_response(200, [a.to_api() for a in work_order.attachments if not a.removed])

    def _upload(self, request: SimRequest) -> SimResponse:
        if (denied := self._denied(request)) is not None:
            return denied
        form = self._read_form(request)
        if isinstance(form, SimResponse):
            return form
        values, file = form
        previous = self._uploads_by_message.get(values.get("MessageId") or "")
        if previous is not None:
            # A client retrying after a lost answer gets the first result, and no second copy is stored.
            return json_response(
                200, {"AttachmentId": previous.attachment_id, "MessageId": previous.message_id}
            )
        check = _Checker(values)
        work_order_id = check.integer("WorkOrderId")
        name = check.file_name("Name")
        document_type = check.text("DocumentType", choices=DOCUMENT_TYPES)
        visibility = check.text("MessageVisibility", choices=VISIBILITIES) or "All"
        mime_type = check.mime_type("MimeType")
        performed_by = check.text("PerformedBy.Name", required=True, max_length=100)
        check.text("PerformedBy.Phone")
        message_id = check.text("MessageId", required=True, max_length=36)
        if file is None:
            check.errors.append(("File", "The File field is required."))
        elif not file.data:
            check.errors.append(("File", "The file is empty."))
        elif len(file.data) > self.max_size:
            check.errors.append(("File", f"The file size must not exceed {_size_text(self.max_size)}."))
        if check.errors or file is None:
            return self._invalid(values, check.errors)
        work_order = self._work_order(work_order_id, values)
        if isinstance(work_order, SimResponse):
            return work_order
        if work_order.status == "Rejected":
            return self._error(3001, values)
        attachment = self._new_attachment(
            work_order.id,
            {
                "name": name,
                "mime_type": mime_type,
                "document_type": document_type or None,
                "visibility": visibility,
                "content": file.data,
                "performed_by": performed_by,
            },
        )
        work_order.attachments.append(attachment)
        upload = Upload(message_id, attachment.id, work_order.id, name, attachment.size, self.clock.now())
        self.uploads.append(upload)
        self._uploads_by_message[message_id] = upload
        return json_response(200, {"AttachmentId": attachment.id, "MessageId": message_id})

    def _target(
        self, request: SimRequest, check_more: Callable[[_Checker], None] | None = None
    ) -> tuple[dict[str, Any], _Checker, SimAttachment] | SimResponse:
        """Read an update/delete request: auth, body, ids, then the live attachment it names."""
        if (denied := self._denied(request)) is not None:
            return denied
        form = self._read_form(request)
        if isinstance(form, SimResponse):
            return form
        values = form[0]
        check = _Checker(values)
        work_order_id = check.integer("WorkOrderId")
        attachment_id = check.text("AttachmentId", required=True, max_length=36)
        if check_more is not None:
            check_more(check)
        check.text("MessageId", required=True, max_length=36)
        work_order = self._checked_work_order(values, check, work_order_id)
        if isinstance(work_order, SimResponse):
            return work_order
        attachment = work_order.find(attachment_id)
        if attachment is None:
            return self._not_found(3003, values)
        return values, check, attachment

    def _update(self, request: SimRequest) -> SimResponse:
        fields: dict[str, str] = {}

        def check_metadata(check: _Checker) -> None:
            fields["name"] = check.file_name("Name")
            fields["document_type"] = check.text("DocumentType", choices=DOCUMENT_TYPES)
            fields["visibility"] = check.text("MessageVisibility", choices=VISIBILITIES) or "All"

        target = self._target(request, check_metadata)
        if isinstance(target, SimResponse):
            return target
        values, _, attachment = target
        attachment.name = fields["name"]
        attachment.document_type = fields["document_type"] or None
        attachment.visibility = fields["visibility"]
        return json_response(200, {"MessageId": values["MessageId"]})

    def _delete(self, request: SimRequest) -> SimResponse:
        target = self._target(request)
        if isinstance(target, SimResponse):
            return target
        values, _, attachment = target
        attachment.removed = True
        return json_response(200, {"MessageId": values["MessageId"]})

    def _download_url(self, request: SimRequest) -> SimResponse:
        if (denied := self._denied(request)) is not None:
            return denied
        check = _Checker(request.query)
        attachment_id = check.text("AttachmentId", required=True, max_length=36)
        work_order_id = check.integer("WorkOrderId")
        work_order = self._checked_work_order(request.query, check, work_order_id)
        if isinstance(work_order, SimResponse):
            return work_order
        attachment = work_order.find(attachment_id)
        if attachment is None:
            return self._not_found(3003, request.query)
        expires = int(self.clock.now()) + LINK_TTL_S
        host = request.header("Host") or "127.0.0.1"
        url = f"http://{host}{self.mount_prefix}/files/{attachment.id}"
        return json_response(
            200, {"Url": f"{url}?expires={expires}&signature={self._sign_link(attachment.id, expires)}"}
        )

    def _sign_link(self, attachment_id: str, expires: int) -> str:
        return hmac.new(self._link_key, f"{attachment_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def _file(self, request: SimRequest, attachment_id: str) -> SimResponse:
        # Like a pre-signed storage URL: the link is the credential, so no bearer token is asked for.
        expires_text, signature = request.query.get("expires", ""), request.query.get("signature", "")
        expected = self._sign_link(attachment_id, int(expires_text)) if expires_text.isdigit() else ""
        if not expected or not hmac.compare_digest(signature.encode(), expected.encode()):
            return _storage_error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
        if self.clock.now() > int(expires_text):
            return _storage_error(403, "AccessDenied", "Request has expired")
        attachment = self.attachment(attachment_id)
        if attachment is None or attachment.removed:
            return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
        return SimResponse(200, {"Content-Type": attachment.mime_type}, attachment.content)


def _storage_error(status: int, code: str, message: str) -> SimResponse:
    # Object stores answer pre-signed URL failures in XML, never the API's JSON.
    xml = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}'
    return text_response(status, xml, "application/xml")
