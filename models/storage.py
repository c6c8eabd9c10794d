"""Where the bytes of uploaded documents live: content-addressed by sha256, so the same bytes are
stored once however often they are uploaded (docs/documents.md, "Storage").

Two backends behind one interface: a folder of the file system (the default; `make run` needs
nothing else) and an S3-compatible bucket (MinIO in docker-compose.yml) for several API machines.
Both read and write in chunks: a file is never held whole in memory. The S3 client is blocking
(boto3), so its calls run in worker threads.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any, Protocol

from settings import Settings

CHUNK = 1024 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class MissingObject(Exception):
    """The storage holds no object for this sha256."""


class Storage(Protocol):
    """Objects named by the sha256 of their bytes."""

    async def put(self, sha256: str, source: IO[bytes]) -> None:
        """Store the source's bytes (from its start) under their sha256, unless they are there already."""

    async def exists(self, sha256: str) -> bool:
        """Whether the object is stored."""

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        """The object's bytes in chunks; MissingObject, before any chunk, when it is not stored."""

    async def delete(self, sha256: str) -> None:
        """Remove the object; nothing happens when it is not there."""


def _checked(sha256: str) -> str:
    # The name becomes a path or a key: only a hash, never anything a caller could steer.
    if not SHA256.match(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return sha256


def _copy(source: IO[bytes], target: IO[bytes]) -> None:
    source.seek(0)
    while chunk := source.read(CHUNK):
        target.write(chunk)


class FileStorage:
    """Objects as files `<root>/<first two hex digits>/<sha256>`, written to a temporary name and
    renamed into place, so a reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        sha256 = _checked(sha256)
        return self.root / sha256[:2] / sha256

    async def put(self, sha256: str, source: IO[bytes]) -> None:
        await asyncio.to_thread(self._put, self.path(sha256), source)

    @staticmethod
    def _put(path: Path, source: IO[bytes]) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".incoming-", delete=False) as target:
            try:
                _copy(source, target)
                target.flush()
                os.fsync(target.fileno())
            except BaseException:
                os.unlink(target.name)
                raise
        os.replace(target.name, path)

    async def exists(self, sha256: str) -> bool:
        return await asyncio.to_thread(self.path(sha256).exists)

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(self.path(sha256).open, "rb")
        except FileNotFoundError:
            raise MissingObject(sha256) from None
        return _chunks(handle.read, handle.close)

    async def delete(self, sha256: str) -> None:
        await asyncio.to_thread(self.path(sha256).unlink, missing_ok=True)


class S3Storage:
    """Objects as keys `<prefix>sha256/<sha256>` of one bucket of an S3-compatible store.

    Each upload carries its SHA-256 checksum, so the store refuses bytes that do not match it.
    """

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def key(self, sha256: str) -> str:
        return f"{self.prefix}sha256/{_checked(sha256)}"

    async def put(self, sha256: str, source: IO[bytes]) -> None:
        if await self.exists(sha256):
            return
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode()

        def upload() -> None:
            source.seek(0)
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(sha256),
                Body=source,
                ChecksumSHA256=checksum,
                ContentType="application/octet-stream",
            )

        await asyncio.to_thread(upload)

    async def exists(self, sha256: str) -> bool:
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self.key(sha256))
        except self.client.exceptions.ClientError as err:
            if _status(err) == 404:
                return False
            raise
        return True

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        try:
            found = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=self.key(sha256))
        except self.client.exceptions.ClientError as err:
            if _status(err) == 404:
                raise MissingObject(sha256) from None
            raise
        body = found["Body"]
        return _chunks(body.read, body.close)

    async def delete(self, sha256: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self.key(sha256))


def _status(err: Any) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


async def _chunks(read: Any, close: Any) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(read, CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(close)


def make_storage(settings: Settings) -> Storage:
    """The backend the settings name: the S3 bucket of `storage_url`, or the folder `storage_dir`."""
    if not settings.storage_url:
        return FileStorage(Path(settings.storage_dir))
    import boto3  # only where S3 is configured: the file system needs none of it
    from botocore.config import Config

    bucket, _, prefix = settings.storage_url.removeprefix("s3://").partition("/")
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint or None,
        aws_access_key_id=settings.s3_access_key or None,
        aws_secret_access_key=settings.s3_secret_key or None,
        region_name=settings.s3_region,
        config=Config(
            s3={"addressing_style": "path"},  # MinIO and most S3-compatible stores serve buckets by path
            # The SHA-256 checksum is sent explicitly; no other checksum is asked of the store.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 5, "mode": "standard"},
        ),
    )
    return S3Storage(client, bucket, f"{prefix.strip('/')}/" if prefix.strip("/") else "")
