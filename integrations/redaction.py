"""What the audit keeps of a request or an answer: secrets and link signatures out, long bodies cut."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import requests

SECRET_KEY_PATTERN = re.compile(r"pass|secret|token|authori[sz]ation|api[-_]?key|signature|cookie", re.I)
RESPONSE_SUMMARY_LIMIT = 2000
# A link's query inside text that is not JSON (a cut-off answer, an HTML page): its signature goes too.
# Slashes may come escaped ("https:\/\/"), as PHP's JSON writes them.
LINK_QUERY_PATTERN = re.compile(r"(https?:(?:\\?/){2}[^\s\"'?<>]*)\?[^\s\"'<>]*")


def redact(value: Any) -> Any:
    """Secrets out, pre-signed URL signatures out, everything else kept for the reader of the audit."""
    if isinstance(value, Mapping):
        return {k: "[redacted]" if SECRET_KEY_PATTERN.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and "?" in value and value.startswith(("http://", "https://")):
        return value.split("?", 1)[0] + "?[redacted]"
    return value


def summarize(payload: Any, limit: int = RESPONSE_SUMMARY_LIMIT) -> str:
    if payload is None:
        return ""
    if isinstance(payload, str):
        text = LINK_QUERY_PATTERN.sub(r"\1?[redacted]", payload)
    else:
        text = json.dumps(redact(payload), separators=(",", ":"))
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters]"


def summarize_response(response: requests.Response | None, *, streamed: bool = False) -> str:
    if response is None:
        return ""
    if streamed:
        return f"[streamed body, {response.headers.get('Content-Length', 'unknown')} bytes]"
    try:
        return summarize(response.json())
    except ValueError:
        return summarize(response.text)
