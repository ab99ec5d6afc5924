"""ImageService over both stores: content keys, metadata, URLs, garbage collection."""

import io
import os
import time

import pytest
from PIL import Image

from domain.errors import BadInput, NotFound
from media.service import ImageService, check_image_key
from media.store import LocalImageStore
from tests.utils import images as samples


async def test_upload_stores_every_rendition_once(images: ImageService) -> None:
    data = samples.jpeg(1000, 800, gps=True)
    first = await images.upload(data)
    assert first.created
    again = await images.upload(data)
    assert not again.created
    assert again.info.key == first.info.key
    info = await images.info(first.info.key)
    assert (info.width, info.height) == (1000, 800)
    stored = await images.store.list(f"images/{info.key}/")
    assert sorted(o.key.rsplit("/", 1)[1] for o in stored) == [
        "medium", "meta.json", "original", "small", "thumb",
    ]  # fmt: skip
    assert info.bytes_stored == sum(o.size for o in stored if not o.key.endswith(".json"))
    thumb, content_type = await images.rendition(info.key, "thumb")
    assert content_type == "image/webp"
    assert Image.open(io.BytesIO(thumb)).width == 236
    original, content_type = await images.rendition(info.key, "original")
    assert content_type == "image/jpeg"
    assert not Image.open(io.BytesIO(original)).getexif()  # GPS gone from what is stored


async def test_refused_uploads_store_nothing(images: ImageService) -> None:
    for data in (b"", b"not an image", samples.png_bomb(), samples.jpeg()[:1500]):
        with pytest.raises(BadInput):
            await images.upload(data)
    assert await images.store.list("images/") == []


async def test_unknown_keys_and_sizes(images: ImageService) -> None:
    with pytest.raises(BadInput):
        check_image_key("../../etc/passwd")
    with pytest.raises(NotFound):
        await images.info("0" * 64)
    key = (await images.upload(samples.jpeg())).info.key
    with pytest.raises(NotFound):
        await images.rendition(key, "huge")


async def test_urls(images: ImageService) -> None:
    key = (await images.upload(samples.jpeg())).info.key
    url = images.url(key, "SMALL")
    if isinstance(images.store, LocalImageStore):
        assert url == f"/media/{key}/small"
    else:
        assert f"images/{key}/small" in url
        assert "X-Amz-Signature=" in url


async def test_garbage_collection_spares_used_and_recent_images(images: ImageService) -> None:
    used = (await images.upload(samples.jpeg(color=(1, 2, 3)))).info.key
    unused = (await images.upload(samples.jpeg(color=(4, 5, 6)))).info.key
    recent = (await images.upload(samples.jpeg(color=(7, 8, 9)))).info.key

    async def referenced(keys: list[str]) -> set[str]:
        return {key for key in keys if key == used}

    # Nothing is older than a day yet.
    assert (await images.collect_garbage(referenced, grace_s=86400, dry_run=False)).images == []
    if isinstance(images.store, LocalImageStore):  # age two images by their file times
        for key in (used, unused):
            for path in (images.store.root / "images" / key).iterdir():
                os.utime(path, (time.time() - 7200, time.time() - 7200))
        grace = 3600.0
    else:
        grace = 0.0  # moto's times are the server's; everything counts as old
    dry = await images.collect_garbage(referenced, grace_s=grace, dry_run=True)
    expected = {unused} if grace else {unused, recent}
    assert set(dry.images) == expected
    assert dry.objects == 5 * len(expected)
    assert (await images.info(unused)).key == unused  # a dry run removes nothing
    done = await images.collect_garbage(referenced, grace_s=grace, dry_run=False)
    assert set(done.images) == expected
    with pytest.raises(NotFound):
        await images.info(unused)
    assert (await images.info(used)).key == used


async def test_touch_protects_an_image_from_collection(images: ImageService) -> None:
    key = (await images.upload(samples.jpeg(color=(9, 9, 9)))).info.key
    before = (await images.info(key)).touched_at
    touched = await images.touch(key)
    assert touched.touched_at >= before
    with pytest.raises(NotFound):
        await images.touch("f" * 64)
