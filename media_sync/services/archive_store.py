"""Where an audit archive is written and read back (services/audit_archive.py): a directory, or a prefix in an
S3 bucket (`s3://BUCKET/PREFIX`), behind one small interface. Both stream: a write goes out as it is made
(to S3 as a multipart upload, one part in memory at most) and a read comes back in blocks, so an archive
of any size is never whole in memory, and what is verified is what the place holds.

S3 is reached with the settings the S3 media storage reads (django-storages: AWS_S3_ENDPOINT_URL,
AWS_S3_REGION_NAME, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the usual AWS credential chain, the
signature version); the bucket comes from the URL. A refusal or an unreachable endpoint is an
ArchiveStoreError whose message names the place and what S3 answered, never a credential.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)
from django.conf import settings
from storages.backends.s3 import S3Storage

# S3 takes parts of 5 MiB or more (the last may be smaller); one part is what a write holds in memory.
PART_BYTES = 8 * 1024 * 1024
BLOCK = 1024 * 1024
SCHEME = "s3://"


class ArchiveStoreError(OSError):
    """The place could not be written or read. An OSError, so that a reader reports it as it reports a
    missing file."""


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class ArchivePlace(Protocol):
    """An archive's place: a directory, or a key prefix in a bucket. `str()` gives its location."""

    def child(self, name: str) -> ArchivePlace: ...

    def claim(self) -> None:
        """Make the place for a new archive: FileExistsError if it holds anything already."""

    def writer(self, name: str) -> AbstractContextManager[Sink]:
        """The named file, to write to (on S3 an upload whose block does not end normally is aborted)."""

    def reader(self, name: str) -> AbstractContextManager[IO[bytes]]:
        """The named file as a binary stream."""

    def names(self) -> list[str]: ...


def archive_place(location: str | Path | ArchivePlace) -> ArchivePlace:
    """`s3://BUCKET/PREFIX` or a directory (a Path, or any other text) as a place."""
    if isinstance(location, str) and location.startswith(SCHEME):
        return S3Place.from_url(location)
    if isinstance(location, (str, Path)):
        if "://" in str(location):
            raise ValueError(f"{location}: only s3:// URLs and directories are archive places")
        return DirectoryPlace(Path(location))
    return location


def place_sha256(place: ArchivePlace, name: str) -> str:
    with place.reader(name) as stream:
        hashed = HashingReader(stream)
        hashed.drain()
    return hashed.hexdigest()


class HashingReader(io.RawIOBase):
    """A stream that hashes and counts every byte read through it: one pass both checks a file's rows and
    gives its SHA-256."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.hasher = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.hasher.update(data)
        self.size += len(data)
        return len(data)

    def drain(self) -> None:
        while self.read(BLOCK):
            pass

    def hexdigest(self) -> str:
        return self.hasher.hexdigest()


class DirectoryPlace:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def child(self, name: str) -> DirectoryPlace:
        return DirectoryPlace(self.path / name)

    def claim(self) -> None:
        self.path.mkdir(parents=True, exist_ok=False)

    @contextmanager
    def writer(self, name: str) -> Iterator[Sink]:
        with (self.path / name).open("wb") as out:
            yield out

    @contextmanager
    def reader(self, name: str) -> Iterator[IO[bytes]]:
        with (self.path / name).open("rb") as stream:
            yield stream

    def names(self) -> list[str]:
        return sorted(path.name for path in self.path.iterdir() if path.is_file())


class S3Place:
    def __init__(self, bucket: str, prefix: str, client: Any = None) -> None:
        self.bucket, self.prefix, self._client = bucket, prefix.strip("/"), client

    @classmethod
    def from_url(cls, url: str) -> S3Place:
        parts = urlsplit(url)
        if not parts.netloc or parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError(f"{url}: not an s3://BUCKET/PREFIX URL")
        return cls(parts.netloc, parts.path)

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}/" if self.prefix else f"{SCHEME}{self.bucket}/"

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def child(self, name: str) -> S3Place:
        return S3Place(self.bucket, self.key(name), self._client)

    @property
    def client(self) -> Any:
        if self._client is None:
            # The media storage's own way of connecting, for this bucket: one configuration serves both.
            self._client = S3Storage(bucket_name=self.bucket).connection.meta.client
        return self._client

    def claim(self) -> None:
        if self.names():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(self))

    @contextmanager
    def writer(self, name: str) -> Iterator[Sink]:
        upload = _Upload(self, self.key(name))
        try:
            yield upload
            upload.finish()
        except BaseException:
            upload.abort()
            raise

    @contextmanager
    def reader(self, name: str) -> Iterator[IO[bytes]]:
        where = f"{self}{name}"
        with _s3_errors(where, "read"):
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(name))["Body"]
        try:
            with io.BufferedReader(_Body(body, where), BLOCK) as stream:
                yield stream
        finally:
            body.close()

    def names(self) -> list[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        with _s3_errors(str(self), "list"):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
            return sorted(entry["Key"][len(start) :] for page in pages for entry in page.get("Contents", []))


class _Upload:
    """A multipart upload fed as it is written: parts of PART_BYTES go out as they fill."""

    def __init__(self, place: S3Place, key: str) -> None:
        self.place, self.key, self.where = place, key, f"{SCHEME}{place.bucket}/{key}"
        self.parts: list[dict[str, Any]] = []
        self.buffer = bytearray()
        with _s3_errors(self.where, "write"):
            answer = place.client.create_multipart_upload(Bucket=place.bucket, Key=key)
        self.upload_id = answer["UploadId"]

    def write(self, data: bytes, /) -> int:
        self.buffer += data
        if len(self.buffer) >= PART_BYTES:
            self._send()
        return len(data)

    def _send(self) -> None:
        number = len(self.parts) + 1
        with _s3_errors(self.where, "write"):
            answer = self.place.client.upload_part(
                Bucket=self.place.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=bytes(self.buffer),
            )
        self.parts.append({"ETag": answer["ETag"], "PartNumber": number})
        self.buffer.clear()

    def finish(self) -> None:
        if self.buffer or not self.parts:
            self._send()
        with _s3_errors(self.where, "write"):
            self.place.client.complete_multipart_upload(
                Bucket=self.place.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts},
            )

    def abort(self) -> None:
        # Best effort: the parts sent so far are dropped, not left to be billed; the first error stands.
        with suppress(BotoCoreError, ClientError):
            self.place.client.abort_multipart_upload(
                Bucket=self.place.bucket, Key=self.key, UploadId=self.upload_id
            )


class _Body(io.RawIOBase):
    """botocore's streamed body as a raw stream, its errors as ArchiveStoreError."""

    def __init__(self, body: Any, where: str) -> None:
        self.body, self.where = body, where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with _s3_errors(self.where, "read"):
            data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@contextmanager
def _s3_errors(where: str, action: str) -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise ArchiveStoreError(_scrubbed(f"{where}: {_why(error, action)}")) from None


def _why(error: Exception, action: str) -> str:
    if isinstance(error, ClientError):
        answer = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        code = answer.get("Code") or f"HTTP {status}"
        message = answer.get("Message")
        return f"S3 refused to {action} it: {code}" + (f" ({message})" if message else "")
    if isinstance(error, NoCredentialsError):
        return f"no S3 credentials to {action} it with (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
    if isinstance(error, EndpointConnectionError):
        endpoint = urlsplit(str(error.kwargs.get("endpoint_url", "")))
        at = f"{endpoint.hostname}:{endpoint.port}" if endpoint.port else endpoint.hostname
        return f"S3 could not be reached to {action} it (at {at})"
    return f"S3 could not {action} it: {type(error).__name__}"


def _scrubbed(text: str) -> str:
    """No credential in a message, whatever a library put in it."""
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_S3_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        for secret in (getattr(settings, name, None), os.environ.get(name)):
            if secret:
                text = text.replace(str(secret), "[redacted]")
    return text
