"""A request body of known length, produced a piece at a time from a file: the shared part of the streamed
bodies (`base64json.py`, `multipart.py`)."""

from __future__ import annotations

import io
from typing import IO


class SizedStream(io.RawIOBase):
    """A readable object with a length, built around one file; a subclass says how to produce the bytes.

    requests sees a readable object with a length: it sends Content-Length and hands http.client the
    object, which reads it 8 KB at a time.
    """

    def __init__(self, *, file: IO[bytes], length: int) -> None:
        super().__init__()
        self._file = file
        self._length = length
        self._position = 0

    def __len__(self) -> int:
        return self._length

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        # requests takes the length to send as len() - tell(): without tell() it would send nothing.
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        data = self._produce(self._length if size is None or size < 0 else size)
        self._position += len(data)
        return data

    def _produce(self, wanted: int) -> bytes:
        """Up to `wanted` next bytes of the body; fewer only at its end."""
        raise NotImplementedError

    def close(self) -> None:
        self._file.close()
        super().close()
