"""A multipart/form-data body that streams its file: memory stays flat whatever the file's size."""

from __future__ import annotations

import io
import uuid
from typing import IO

from integrations.sizedstream import SizedStream


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def new_boundary() -> str:
    return uuid.uuid4().hex


def content_type(boundary: str) -> str:
    return f"multipart/form-data; boundary={boundary}"


class MultipartStream(SizedStream):
    """Form fields, then the file read from its own stream in pieces, then the closing boundary."""

    def __init__(
        self,
        *,
        fields: list[tuple[str, str]],
        file_field: str,
        filename: str,
        content_type: str,
        file: IO[bytes],
        size: int,
        boundary: str,
    ) -> None:
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
            for name, value in fields
        )
        head += (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{_quote(file_field)}"; filename="{_quote(filename)}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        super().__init__(file=file, length=len(head) + size + len(tail))
        self._parts: list[IO[bytes]] = [io.BytesIO(head), file, io.BytesIO(tail)]

    def _produce(self, wanted: int) -> bytes:
        chunks = []
        while wanted > 0 and self._parts:
            chunk = self._parts[0].read(wanted)
            if not chunk:
                self._parts.pop(0)
                continue
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)
