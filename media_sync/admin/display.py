"""How an audit row reads at a glance: its operation in words, a short subject, the outcome as a badge, a
message cut to fit (whole in its title), and the timeline each subject and item opens."""

from __future__ import annotations

import json
import re

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from media_sync.models import AuditEvent, Operation, Provider

SUBJECT = re.compile(r"(?P<noun>work order|order|property) (?P<key>[\w-]+)")
# A subject's noun, its timeline kind, and its plural.
NOUNS = {
    "order": ("order", "orders"),
    "work order": ("workorder", "work orders"),
    "property": ("property", "properties"),
}
NUMBER = re.compile(r"[0-9]{1,18}")
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Operations whose item is the order or work order itself (one item per record refreshed).
REFRESHES = {
    Operation.RC_SYNC_PHOTOS,
    Operation.LIST_PHOTOS,
    Operation.RC_SYNC_DOCUMENTS,
    Operation.LIST_DOCUMENTS,
    Operation.CP_SYNC,
    Operation.LIST_ATTACHMENTS,
}
# Operations whose item is a RecoveryConnect document.
DOCUMENT_OPERATIONS = {Operation.RC_TRANSFER_DOCUMENTS, Operation.TRANSFER_DOCUMENTS}
SUBJECT_LENGTH = 200  # TransferJob.subject's max_length: a longer list was cut


def operation_words(operation: str) -> str:
    """An operation in words; one the vocabulary does not know (an old row) is shown as it is stored."""
    return Operation(operation).label if operation in Operation.values else operation


def timeline_url(kind: str, key: str) -> str:
    return reverse("admin:media_sync_auditevent_timeline", args=[kind, key])


def subject_timeline(subject: str) -> tuple[str, str] | None:
    """The (kind, key) of a subject naming one record, else None."""
    match = SUBJECT.fullmatch(subject)
    return (NOUNS[match["noun"]][0], match["key"]) if match else None


def subject_short(subject: str) -> str:
    """One record as it is ("order 57076503"); a list as a count ("6 work orders", "12+ orders" when the
    stored list was cut short)."""
    parts = subject.split(", ")
    if len(parts) == 1:
        return subject
    cut = len(subject) >= SUBJECT_LENGTH
    complete = parts[:-1] if cut else parts
    first = SUBJECT.fullmatch(parts[0])
    plural = NOUNS[first["noun"]][1] if first else "subjects"
    return f"{len(complete)}{'+' if cut else ''} {plural}"


def item_timeline(event: AuditEvent) -> tuple[str, str] | None:
    """The (kind, key) of the photo, attachment, order or work order a row's item names, else None."""
    item = event.item
    if event.provider == Provider.RECOVERYCONNECT and NUMBER.fullmatch(item):
        if event.operation in REFRESHES:
            return ("order", item)
        return ("document" if event.operation in DOCUMENT_OPERATIONS else "photo", item)
    if event.provider == Provider.CORRIGOPRO:
        if GUID.fullmatch(item):
            return ("attachment", item)
        if NUMBER.fullmatch(item) and event.operation in REFRESHES:
            return ("workorder", item)
    return None


def linked(text: str, target: tuple[str, str] | None, label: str = "") -> SafeString:
    if target is None:
        return format_html("{}", text)
    title = label or f"Timeline of {text}"
    return format_html('<a href="{}" title="{}">{}</a>', timeline_url(*target), title, text)


def outcome_badge(outcome: str) -> SafeString:
    return format_html('<span class="outcome outcome-{}">{}</span>', outcome, outcome)


def truncated(text: str, limit: int = 90) -> SafeString:
    """The text cut to `limit` characters; the whole of it in the title, for the pointer and for readers."""
    if len(text) <= limit:
        return format_html("{}", text)
    return format_html('<span title="{}">{}…</span>', text, text[: limit - 1])


def pretty_json(text: str) -> str:
    """A stored request or response summary, indented when it is JSON (a cut one is shown as it is)."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text
