"""Where image bytes live: a local directory (embedded default) or MinIO/S3."""

from __future__ import annotations

import asyncio
import io
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import parse_qs, urlsplit

import urllib3.exceptions
from minio import Minio
from minio.error import S3Error

from domain.errors import BadInput, NotFound, Unavailable

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$")
CHUNK = 1 << 20

# What a store call may raise besides BadInput: away (Unavailable), missing (NotFound), refused
# by the S3 server (S3Error: a wrong key, no bucket), or the local disk's errors.
STORE_ERRORS: tuple[type[Exception], ...] = (Unavailable, NotFound, S3Error, OSError)

# Bytes moved by a file transfer since the last call; called from a worker thread.
Moved = Callable[[int], None]


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified_at: float  # epoch seconds
    size: int


class ImageStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def get(self, key: str) -> bytes: ...
    async def exists(self, key: str) -> bool: ...
    async def delete(self, key: str) -> None: ...
    async def ping(self) -> None: ...
    async def list(self, prefix: str) -> list[StoredObject]: ...

    async def put_file(self, key: str, source: Path, content_type: str, moved: Moved) -> None:
        """Store a file of any size without reading it into memory."""
        ...

    async def get_file(self, key: str, target: Path, moved: Moved) -> None:
        """Write an object of any size to `target` (NotFound when there is none)."""
        ...

    def presigned_url(self, key: str, expires_s: int) -> str | None:
        """A URL clients fetch the object from directly, or None when the app serves it."""
        ...


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise BadInput(f"invalid object key {key!r}")
    return key


class LocalImageStore:
    """Files under one directory; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, check_key(key), data)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread((self.root / check_key(key)).read_bytes)
        except FileNotFoundError:
            raise NotFound(f"no image {key!r}") from None

    async def exists(self, key: str) -> bool:
        return (self.root / check_key(key)).is_file()

    async def delete(self, key: str) -> None:
        (self.root / check_key(key)).unlink(missing_ok=True)

    async def ping(self) -> None:
        if not (self.root.is_dir() and os.access(self.root, os.W_OK)):
            raise Unavailable(f"image directory {self.root} is missing or not writable")

    async def list(self, prefix: str) -> list[StoredObject]:
        def walk() -> list[StoredObject]:
            found = []
            for path in sorted((self.root / prefix).rglob("*")):
                if path.is_file() and not path.name.endswith(".tmp"):
                    stat = path.stat()
                    key = path.relative_to(self.root).as_posix()
                    found.append(StoredObject(key, stat.st_mtime, stat.st_size))
            return found

        return await asyncio.to_thread(walk)

    async def put_file(self, key: str, source: Path, content_type: str, moved: Moved) -> None:
        await asyncio.to_thread(self._put_file, check_key(key), source, moved)

    async def get_file(self, key: str, target: Path, moved: Moved) -> None:
        await asyncio.to_thread(self._get_file, check_key(key), target, moved)

    def presigned_url(self, key: str, expires_s: int) -> str | None:
        return None

    def _put(self, key: str, data: bytes) -> None:
        tmp = self._tmp_for(key)
        tmp.write_bytes(data)
        tmp.replace(self.root / key)

    def _put_file(self, key: str, source: Path, moved: Moved) -> None:
        tmp = self._tmp_for(key)
        try:
            with source.open("rb") as reader, tmp.open("wb") as writer:
                _copy(reader, writer, moved)
            tmp.replace(self.root / key)
        finally:
            tmp.unlink(missing_ok=True)

    def _get_file(self, key: str, target: Path, moved: Moved) -> None:
        try:
            reader = (self.root / key).open("rb")
        except FileNotFoundError:
            raise NotFound(f"no object {key!r}") from None
        with reader, target.open("wb") as writer:
            _copy(reader, writer, moved)

    def _tmp_for(self, key: str) -> Path:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: two writers of one key (an image's embedding computed by a search
        # and by the indexer at once) must not rename each other's file away.
        return path.with_name(f"{path.name}.{secrets.token_hex(6)}.tmp")


def _copy(reader: BinaryIO, writer: BinaryIO, moved: Moved) -> None:
    while chunk := reader.read(CHUNK):
        writer.write(chunk)
        moved(len(chunk))


class S3ImageStore:
    """MinIO (or any S3 server) through the `minio` SDK, whose calls block: run them in threads.

    URL form: ``s3://ACCESS:SECRET@host:port/bucket`` (TLS) or ``s3+http://...`` (plain HTTP),
    with optional ``?region=...`` and ``&public=https://images.example.com``: the address
    clients reach the server at, when it differs from the app's (a signature covers the
    host, so presigned URLs are signed for that address).
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.bucket = parts.path.strip("/")
        if not self.bucket:
            raise ValueError("PINGRAPH_MEDIA_URL names no bucket (s3://key:secret@host/bucket)")
        endpoint = parts.hostname or "localhost"
        if parts.port:
            endpoint += f":{parts.port}"
        # A known region lets the SDK sign URLs without asking the server for it.
        query = parse_qs(parts.query)
        region = query.get("region", ["us-east-1"])[0]
        self.client = Minio(
            endpoint,
            access_key=parts.username,
            secret_key=parts.password,
            secure=parts.scheme == "s3",
            region=region,
        )
        self.signer = self.client
        if "public" in query:
            public = urlsplit(query["public"][0])
            if public.scheme not in ("http", "https") or not public.netloc:
                raise ValueError("the media URL's public= must be an http(s) URL")
            self.signer = Minio(
                public.netloc,
                access_key=parts.username,
                secret_key=parts.password,
                secure=public.scheme == "https",
                region=region,
            )

    async def ensure_bucket(self) -> None:
        def create() -> None:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)

        await self._call(create)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        await self._call(
            lambda: self.client.put_object(
                self.bucket, key, io.BytesIO(data), len(data), content_type=content_type
            )
        )

    async def get(self, key: str) -> bytes:
        check_key(key)

        def fetch() -> bytes:
            response = self.client.get_object(self.bucket, key)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        try:
            return await self._call(fetch)
        except S3Error as error:
            if error.code == "NoSuchKey":
                raise NotFound(f"no image {key!r}") from None
            raise

    async def exists(self, key: str) -> bool:
        check_key(key)
        try:
            await self._call(lambda: self.client.stat_object(self.bucket, key))
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        check_key(key)
        await self._call(lambda: self.client.remove_object(self.bucket, key))

    async def put_file(self, key: str, source: Path, content_type: str, moved: Moved) -> None:
        check_key(key)

        def upload() -> None:
            # The SDK reads the file a part (5 MiB or more) at a time: multipart when bigger.
            self.client.fput_object(
                self.bucket, key, str(source), content_type=content_type,
                progress=_PartsRead(moved),
            )  # fmt: skip

        await self._call(upload)

    async def get_file(self, key: str, target: Path, moved: Moved) -> None:
        check_key(key)

        def download() -> None:
            response = self.client.get_object(self.bucket, key)
            try:
                with target.open("wb") as writer:
                    for chunk in response.stream(CHUNK):
                        writer.write(chunk)
                        moved(len(chunk))
            finally:
                response.close()
                response.release_conn()

        try:
            await self._call(download)
        except S3Error as error:
            if error.code == "NoSuchKey":
                raise NotFound(f"no object {key!r}") from None
            raise

    async def ping(self) -> None:
        if not await self._call(lambda: self.client.bucket_exists(self.bucket)):
            raise Unavailable(f"bucket {self.bucket!r} does not exist")

    async def list(self, prefix: str) -> list[StoredObject]:
        def listing() -> list[StoredObject]:
            return [
                StoredObject(
                    item.object_name,
                    item.last_modified.timestamp() if item.last_modified else 0.0,
                    item.size or 0,
                )
                for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
                if item.object_name
            ]

        return await self._call(listing)

    def presigned_url(self, key: str, expires_s: int) -> str | None:
        """Signed locally (the region is known), so no request to the server."""
        return str(
            self.signer.presigned_get_object(
                self.bucket, check_key(key), expires=timedelta(seconds=expires_s)
            )
        )

    async def _call[T](self, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except S3Error:
            raise
        except (OSError, urllib3.exceptions.HTTPError) as error:
            raise Unavailable("the image store does not answer") from error


class _PartsRead:
    """The SDK's progress interface (`minio.helpers.ProgressType`), reporting to `moved`."""

    def __init__(self, moved: Moved) -> None:
        self.moved = moved

    def set_meta(self, object_name: str, total_length: int) -> None:
        pass

    def update(self, length: int) -> None:
        self.moved(length)
