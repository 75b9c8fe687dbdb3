"""CorrigoPro answers as typed objects, and its documented error body read into one ProviderError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.errors import FailureClass, ProviderError

# The documented error codes, in words an operator can act on.
ERROR_CODES: dict[int, tuple[FailureClass, str]] = {
    2100: (FailureClass.INVALID_INPUT, "CorrigoPro refused the request as invalid"),
    3000: (FailureClass.PROVIDER_RULE, "CorrigoPro refused it under a business rule"),
    3001: (FailureClass.PROVIDER_RULE, "the work order's state does not allow this (for example Rejected)"),
    3002: (FailureClass.PROVIDER_RULE, "the work order is prebilled"),
    3003: (FailureClass.NOT_FOUND, "CorrigoPro does not know the attachment (or another referenced entity)"),
    3005: (FailureClass.NOT_FOUND, "the work order is unknown to CorrigoPro or was recalled"),
}


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int


@dataclass(frozen=True)
class Attachment:
    id: str
    name: str
    mime_type: str
    document_type: str
    visibility: str
    size: int | None
    created: str
    performed_by: str


@dataclass(frozen=True)
class Uploaded:
    attachment_id: str
    message_id: str


def shape_error(what: str) -> ProviderError:
    return ProviderError(
        f"unexpected response shape: {what}",
        failure_class=FailureClass.PARSE,
        transient=False,
        http_status=200,
    )


def parse_token(body: Any) -> Token:
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise shape_error("token response has no access_token")
    expires_in = body.get("expires_in")
    return Token(body["access_token"], expires_in if isinstance(expires_in, int) else 1199)


def parse_attachments(body: Any) -> list[Attachment]:
    if not isinstance(body, list):
        raise shape_error("attachment list is not a list")
    attachments = []
    for entry in body:
        if not isinstance(entry, dict) or not isinstance(entry.get("Id"), str):
            raise shape_error("attachment without an Id")
        performed_by = entry.get("PerformedBy")
        attachments.append(
            Attachment(
                id=entry["Id"],
                name=str(entry.get("Name") or ""),
                mime_type=str(entry.get("MimeType") or ""),
                document_type=str(entry.get("DocumentType") or ""),
                visibility=str(entry.get("MessageVisibility") or ""),
                size=entry["Size"] if isinstance(entry.get("Size"), int) else None,
                created=str(entry.get("CreatedDate") or ""),
                performed_by=str(performed_by.get("Name") or "") if isinstance(performed_by, dict) else "",
            )
        )
    return attachments


def parse_uploaded(body: Any) -> Uploaded:
    if not isinstance(body, dict) or not isinstance(body.get("AttachmentId"), str):
        raise shape_error("upload response has no AttachmentId")
    return Uploaded(body["AttachmentId"], str(body.get("MessageId") or ""))


def parse_message_id(body: Any) -> str:
    if not isinstance(body, dict):
        raise shape_error("response is not an object")
    return str(body.get("MessageId") or "")


def parse_download_url(body: Any) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("Url"), str):
        raise shape_error("downloadUrl response has no Url")
    return str(body["Url"])


def error_from_body(status: int, body: Any) -> ProviderError | None:
    """The documented error body, or None when the answer has none (a bare 404, say)."""
    if not isinstance(body, dict) or not isinstance(body.get("Code"), int):
        return None
    code = body["Code"]
    failure_class, meaning = ERROR_CODES.get(
        code, (FailureClass.PROVIDER_RULE, "CorrigoPro refused the request")
    )
    message = f"{meaning} ({code}"
    if isinstance(body.get("Message"), str) and body["Message"]:
        message += f": {body['Message']}"
    message += ")"
    problems = [
        f"{problem.get('PropertyName', '?')}: {problem.get('ErrorMessage', '')}"
        for problem in body.get("ValidationErrors") or []
        if isinstance(problem, dict)
    ]
    if problems:
        message += " — " + "; ".join(problems)
    return ProviderError(
        message, failure_class=failure_class, transient=False, http_status=status, code=str(code)
    )
