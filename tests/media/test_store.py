"""One contract for both image stores."""

import os
import time
from pathlib import Path

import httpx
import pytest

from domain.errors import BadInput, NotFound
from media.open import open_image_store
from media.store import ImageStore, LocalImageStore


async def test_put_get_exists_delete(store: ImageStore) -> None:
    await store.put("images/abc/thumb", b"bytes", "image/webp")
    assert await store.get("images/abc/thumb") == b"bytes"
    assert await store.exists("images/abc/thumb")
    assert not await store.exists("images/abc/small")
    await store.delete("images/abc/thumb")
    assert not await store.exists("images/abc/thumb")
    with pytest.raises(NotFound):
        await store.get("images/abc/thumb")
    await store.delete("images/abc/thumb")  # deleting twice is fine


async def test_list_by_prefix_with_times_and_sizes(store: ImageStore) -> None:
    before = time.time() - 5
    await store.put("images/k1/a", b"12345", "image/webp")
    await store.put("images/k1/b", b"1", "image/webp")
    await store.put("other/x", b"1", "image/webp")
    listed = await store.list("images/")
    assert [(o.key, o.size) for o in listed] == [("images/k1/a", 5), ("images/k1/b", 1)]
    assert all(o.modified_at >= before for o in listed)


async def test_keys_cannot_escape(store: ImageStore) -> None:
    for key in ("../etc/passwd", "/abs", "a/../../b", ""):
        with pytest.raises(BadInput):
            await store.put(key, b"x", "image/webp")


async def test_ping(store: ImageStore) -> None:
    await store.ping()


async def test_presigned_urls_fetch_the_object(store: ImageStore) -> None:
    await store.put("images/p/medium", b"picture", "image/webp")
    url = store.presigned_url("images/p/medium", 60)
    if isinstance(store, LocalImageStore):
        assert url is None  # the app serves local files itself (tests/api/test_media.py)
        return
    assert url is not None
    assert "X-Amz-Expires=60" in url
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.content == b"picture"
    assert response.headers["content-type"] == "image/webp"


async def test_presigned_urls_use_the_public_address(s3_endpoint: str, tmp_path: Path) -> None:
    port = s3_endpoint.rsplit(":", 1)[1]
    url = f"s3+http://k:s@{s3_endpoint}/public-bucket?public=http://localhost:{port}"
    store = await open_image_store(url, tmp_path)
    await store.put("images/q/thumb", b"thumb", "image/webp")
    signed = store.presigned_url("images/q/thumb", 60)
    assert signed is not None
    assert signed.startswith(f"http://localhost:{port}/public-bucket/images/q/thumb?")
    async with httpx.AsyncClient() as http:
        assert (await http.get(signed)).content == b"thumb"
    with pytest.raises(ValueError, match="public="):
        await open_image_store(f"s3+http://k:s@{s3_endpoint}/b?public=nonsense", tmp_path)


async def test_files_of_any_size_stream_in_and_out(store: ImageStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    data = os.urandom(6 * 1024 * 1024 + 5)  # over S3's 5 MiB part: a multipart upload
    source.write_bytes(data)
    uploaded: list[int] = []
    await store.put_file("walks/v1/big.bin", source, "application/octet-stream", uploaded.append)
    assert sum(uploaded) == len(data)
    downloaded: list[int] = []
    target = tmp_path / "copy.bin"
    await store.get_file("walks/v1/big.bin", target, downloaded.append)
    assert sum(downloaded) == len(data)
    assert target.read_bytes() == data
    with pytest.raises(NotFound):
        await store.get_file("walks/v1/missing", tmp_path / "none", downloaded.append)
