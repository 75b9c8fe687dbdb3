"""The streamed multipart body: right bytes, right length, read a piece at a time."""

from __future__ import annotations

import io
from email.message import Message
from email.parser import BytesParser

import requests

from integrations.multipart import MultipartStream, content_type


def make(content: bytes) -> MultipartStream:
    return MultipartStream(
        fields=[("WorkOrderId", "1001"), ("PerformedBy.Name", 'Ann "the tech"')],
        file_field="File",
        filename="after.jpg",
        content_type="image/jpeg",
        file=io.BytesIO(content),
        size=len(content),
        boundary="b0undary",
    )


def test_the_body_parses_back_into_its_fields_and_file() -> None:
    content = bytes(range(256)) * 100
    stream = make(content)
    body = b"".join(iter(lambda: stream.read(1000), b""))
    assert len(body) == len(make(content))
    message = BytesParser().parsebytes(f"Content-Type: {content_type('b0undary')}\r\n\r\n".encode() + body)
    payload = message.get_payload()
    assert isinstance(payload, list)
    parts: dict[str, Message] = {}
    for part in payload:
        assert isinstance(part, Message)
        parts[str(part.get_param("name", header="content-disposition"))] = part
    assert parts["WorkOrderId"].get_payload() == "1001"
    assert parts["File"].get_filename() == "after.jpg"
    assert parts["File"].get_payload(decode=True) == content


def test_requests_sees_the_whole_length_before_sending() -> None:
    stream = make(b"x" * 5000)
    assert requests.utils.super_len(stream) == len(stream) > 5000  # type: ignore[no-untyped-call]
    stream.read(100)
    assert stream.tell() == 100
