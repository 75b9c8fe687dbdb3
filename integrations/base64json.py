"""A JSON body with one field holding a file in base64, streamed: memory stays flat whatever the file's size.

RecoveryConnect takes uploads as base64 inside JSON. Built in memory, a 20 MB photo would become a 27 MB
string (and a copy or two of it); this yields the JSON head, then the file encoded a piece at a time, then
the tail. Each piece is encoded from a multiple of 3 bytes, so the pieces concatenate to valid base64.
"""

from __future__ import annotations

import base64
import json
from typing import IO, Any

from integrations.sizedstream import SizedStream

# Bytes of the file encoded at a time: a multiple of 3 (so no piece but the last is padded).
CHUNK = 3 * 16 * 1024
CONTENT_TYPE = "application/json"


def base64_length(size: int) -> int:
    """How long the base64 of `size` bytes is (padding included)."""
    return 4 * ((size + 2) // 3)


def base64_summary(fields: dict[str, Any], data_field: str, size: int) -> dict[str, Any]:
    """What the audit shows of such a body: the fields, and the size of the data, never the data."""
    return {**fields, data_field: f"<{size} bytes, base64>"}


class Base64JsonStream(SizedStream):
    """`{<fields>, "<data_field>": "<the file in base64>"}` as a readable object with a length."""

    def __init__(self, *, fields: dict[str, Any], data_field: str, file: IO[bytes], size: int) -> None:
        if data_field in fields:
            raise ValueError(f"{data_field!r} is both a field and the data field")
        opening = json.dumps(fields)[:-1]  # the fields' object without its closing brace
        separator = ", " if fields else ""
        self._head = f'{opening}{separator}{json.dumps(data_field)}: "'.encode()
        self._tail = b'"}'
        super().__init__(file=file, length=len(self._head) + base64_length(size) + len(self._tail))
        self._buffer = self._head
        self._file_done = False
        self._tail_done = False

    def _refill(self) -> None:
        if not self._file_done:
            raw = self._read_file(CHUNK)
            if raw:
                self._buffer += base64.b64encode(raw)
                return
            self._file_done = True
        if not self._tail_done:
            self._buffer += self._tail
            self._tail_done = True

    def _read_file(self, wanted: int) -> bytes:
        # A stream may answer short reads: keep reading until a multiple of 3 bytes or the end.
        pieces, got = [], 0
        while got < wanted:
            piece = self._file.read(wanted - got)
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)

    def _produce(self, wanted: int) -> bytes:
        while len(self._buffer) < wanted and not self._tail_done:
            self._refill()
        data, self._buffer = self._buffer[:wanted], self._buffer[wanted:]
        return data
