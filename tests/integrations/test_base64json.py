"""The streamed base64 JSON body: it parses back to exactly the dict built in memory, whatever the size."""

from __future__ import annotations

import base64
import io
import json

import pytest
import requests

from integrations.base64json import CHUNK, Base64JsonStream, base64_length, base64_summary

FIELDS = {
    "file_name": 'front "1".jpg',
    "image_name": "Front é",
    "picture_time": "2026-01-02 03:04:05",
    "type": 3,
}


class ShortReads(io.BytesIO):
    """A stream that answers fewer bytes than asked, as a socket or storage backend may."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(min(size, 1000) if size and size > 0 else size)


def make(content: bytes, stream_class: type[io.BytesIO] = io.BytesIO) -> Base64JsonStream:
    return Base64JsonStream(fields=FIELDS, data_field="data", file=stream_class(content), size=len(content))


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 2])
@pytest.mark.parametrize("piece", [1, 7, 8192, -1])
def test_the_streamed_body_is_the_json_built_in_memory(size: int, piece: int) -> None:
    content = bytes((i * 7) % 256 for i in range(size))
    stream = make(content)
    body = stream.read() if piece == -1 else b"".join(iter(lambda: stream.read(piece), b""))
    encoded = base64.b64encode(content).decode()
    assert json.loads(body) == {**FIELDS, "data": encoded}
    assert len(body) == len(make(content)) == stream.tell()
    assert base64_length(size) == len(encoded)


def test_short_reads_from_the_file_still_give_valid_base64() -> None:
    content = bytes(range(256)) * 500
    stream = make(content, ShortReads)
    body = b"".join(iter(lambda: stream.read(8192), b""))
    assert base64.b64decode(json.loads(body)["data"], validate=True) == content


def test_the_audit_summary_keeps_the_size_and_never_the_data() -> None:
    summary = base64_summary(FIELDS, "data", 123456)
    assert summary == {**FIELDS, "data": "<123456 bytes, base64>"}


def test_a_field_named_as_the_data_field_is_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        Base64JsonStream(fields={"data": "x"}, data_field="data", file=io.BytesIO(b""), size=0)


def test_requests_sends_it_with_its_length() -> None:
    # requests reads len() - tell() as the Content-Length and the body a piece at a time.
    prepared = requests.Request("POST", "http://127.0.0.1/", data=make(b"abcd")).prepare()
    assert prepared.headers["Content-Length"] == str(len(make(b"abcd")))
