"""Both image stores behind one fixture: the local directory, and the MinIO/S3 store against
moto's S3 server on loopback (MinIO itself cannot be installed here)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from media.open import open_image_store
from media.service import ImageService
from media.store import ImageStore
from tests.utils.events import RecordedEvents


@pytest.fixture(params=["local", "s3"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str
) -> AsyncIterator[ImageStore]:
    if request.param == "local":
        yield await open_image_store("embedded", tmp_path / "media")
    else:
        bucket = f"pins-{uuid.uuid4().hex[:10]}"  # created by the store, as in production
        yield await open_image_store(f"s3+http://test:secret@{s3_endpoint}/{bucket}", tmp_path)


@pytest.fixture
def images(store: ImageStore) -> ImageService:
    return ImageService(store, RecordedEvents(), max_bytes=2_000_000, max_pixels=30_000_000)
