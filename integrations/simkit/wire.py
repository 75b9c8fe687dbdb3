"""A simulator's requests and answers, and the answer helpers every simulator uses."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal


class BadRequestError(ValueError):
    """The request body cannot be read; handlers may turn it into their provider's own error shape."""


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        # HTTP header names are case-insensitive; the dict keeps whatever case the client sent.
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), default)

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise BadRequestError(f"Request body is not valid JSON: {error}") from None


@dataclass
class SimResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class _Drop(enum.Enum):
    DROP = "drop"


# Returned instead of a response when the server must close the connection without answering.
DROP: Literal[_Drop.DROP] = _Drop.DROP
Outcome = SimResponse | Literal[_Drop.DROP]
Handler = Callable[..., SimResponse]


def _dump(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def json_response(status: int, obj: Any, headers: Mapping[str, str] | None = None) -> SimResponse:
    return SimResponse(status, {"Content-Type": "application/json", **(headers or {})}, _dump(obj))


def text_response(
    status: int,
    text: str,
    content_type: str = "text/plain; charset=utf-8",
    headers: Mapping[str, str] | None = None,
) -> SimResponse:
    return SimResponse(status, {"Content-Type": content_type, **(headers or {})}, text.encode())


def gateway_error_page(status: int) -> SimResponse:
    # Real gateways in front of an API answer 5xx with their own HTML page, never the API's JSON.
    title = f"{status} {HTTPStatus(status).phrase}"
    html = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
    return text_response(status, html + "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", "text/html")


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int | str  # an HTTP status, or "dropped" / "timeout-hang" when the client got no timely answer
    fault: str | None
    at: float
