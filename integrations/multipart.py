"""A multipart/form-data body that streams its file: memory stays flat whatever the file's size."""

from __future__ import annotations

import io
import uuid
from typing import IO


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def new_boundary() -> str:
    return uuid.uuid4().hex


def content_type(boundary: str) -> str:
    return f"multipart/form-data; boundary={boundary}"


class MultipartStream(io.RawIOBase):
    """Form fields, then the file read from its own stream in pieces, then the closing boundary.

    requests sees a readable object with a length: it sends Content-Length and hands http.client the
    object, which reads it 8 KB at a time.
    """

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
        super().__init__()
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
        self._file = file
        self._parts: list[IO[bytes]] = [io.BytesIO(head), file, io.BytesIO(tail)]
        self._length = len(head) + size + len(tail)
        self._position = 0

    def __len__(self) -> int:
        return self._length

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        # requests takes the length to send as len() - tell(): without tell() it would send nothing.
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        wanted = self._length if size is None or size < 0 else size
        chunks = []
        while wanted > 0 and self._parts:
            chunk = self._parts[0].read(wanted)
            if not chunk:
                self._parts.pop(0)
                continue
            chunks.append(chunk)
            wanted -= len(chunk)
        data = b"".join(chunks)
        self._position += len(data)
        return data

    def close(self) -> None:
        self._file.close()
        super().close()
