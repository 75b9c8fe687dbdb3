"""Reading CorrigoPro request bodies (multipart, urlencoded, JSON) and checking their fields the way the
provider's ASP.NET model validation does."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from email.parser import Parser
from email.policy import compat32
from email.utils import collapse_rfc2231_value
from typing import Any

from integrations.simkit import BadRequestError

_NAME_WITH_EXTENSION = re.compile(r".+\.[A-Za-z0-9]{1,10}")
_MIME_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+", re.ASCII)


@dataclass
class _Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def _parse_multipart(body: bytes, content_type: str) -> dict[str, _Part]:
    """A small RFC 7578 reader. The email package's MIME parser may rewrite line endings inside binary parts;
    splitting on the boundary keeps the file bytes exact."""
    boundary = _header_param(content_type, "boundary")
    if not boundary:
        raise BadRequestError("multipart/form-data without a boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    # A leading CRLF makes the first delimiter look like the others; whatever precedes it is preamble.
    sections = (b"\r\n" + body).split(delimiter)
    parts: dict[str, _Part] = {}
    for section in sections[1:]:
        if section.startswith(b"--"):
            return parts
        line_end = section.find(b"\r\n")
        head, separator, data = section[line_end + 2 :].partition(b"\r\n\r\n")
        if line_end < 0 or section[:line_end].strip(b" \t") or not separator:
            raise BadRequestError("malformed multipart part")
        headers = Parser(policy=compat32).parsestr(head.decode("utf-8", "replace") + "\r\n\r\n", True)
        disposition = headers.get("Content-Disposition", "")
        name = _header_param(disposition, "name")
        if name is None:
            raise BadRequestError("multipart part without a name")
        filename = _header_param(disposition, "filename")
        parts.setdefault(name, _Part(name, filename, headers.get("Content-Type"), data))
    raise BadRequestError("multipart body without its closing boundary")


def _header_param(value: str, name: str) -> str | None:
    # The email package already knows quoting and RFC 2231 (filename*=utf-8''...); reuse it for one header.
    headers = Parser(policy=compat32).parsestr(f"X: {value}\r\n\r\n", True)
    param = headers.get_param(name, header="x")
    if param is None or isinstance(param, str):
        return param
    return collapse_rfc2231_value(param)


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    # JSON may nest {"PerformedBy": {"Name": ..}}; forms spell it "PerformedBy.Name". Both end up dotted.
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class _Checker:
    """Collects every validation error of a request, as ASP.NET model validation reports them all at once."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.errors: list[tuple[str, str]] = []

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int | None = None,
        choices: tuple[str, ...] | None = None,
    ) -> str:
        """The value, or "" when absent or invalid (an error is recorded, so the caller answers 2100)."""
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                self.errors.append((name, f"The {name} field is required."))
            return ""
        if not isinstance(value, str):
            self.errors.append((name, f"The field {name} must be a string."))
        elif max_length is not None and len(value) > max_length:
            self.errors.append(
                (name, f"The field {name} must be a string with a maximum length of {max_length}.")
            )
        elif choices is not None and value not in choices:
            self.errors.append((name, f"The value '{value}' is not valid for {name}."))
        else:
            return value
        return ""

    def integer(self, name: str) -> int:
        value = self.values.get(name)
        if value is None or value == "":
            self.errors.append((name, f"The {name} field is required."))
        elif isinstance(value, int) and not isinstance(value, bool):
            return value
        elif isinstance(value, str) and value.strip().isdigit():
            return int(value)
        else:
            self.errors.append((name, f"The value '{value}' is not valid for {name}."))
        return 0

    def file_name(self, name: str) -> str:
        value = self.text(name, required=True)
        if value and not _NAME_WITH_EXTENSION.fullmatch(value):
            self.errors.append((name, f"The {name} field must include the file extension."))
            return ""
        return value

    def mime_type(self, name: str) -> str:
        value = self.text(name, required=True)
        # Checked because it becomes the file's Content-Type header, which must be plain ASCII.
        if value and not _MIME_TYPE.fullmatch(value):
            self.errors.append((name, f"The value '{value}' is not a valid MIME type."))
            return ""
        return value


def _spec_from_json(spec: Any) -> dict[str, Any]:
    # JSON cannot carry bytes: control routes send file content as content_base64.
    if not isinstance(spec, dict):
        raise ValueError("Each attachment must be a JSON object.")
    result: dict[str, Any] = dict(spec)
    if "content_base64" in result:
        result["content"] = base64.b64decode(result.pop("content_base64"), validate=True)
    return result


def _size_text(size: int) -> str:
    mebibyte = 1024 * 1024
    return f"{size // mebibyte} MB" if size % mebibyte == 0 else f"{size} bytes"
