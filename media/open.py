"""Open the image store a settings URL names."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

from media.store import ImageStore, LocalImageStore, S3ImageStore


async def open_image_store(url: str, local_dir: Path) -> ImageStore:
    """`url` is a media URL; `local_dir` is where a file:// or embedded store keeps files."""
    if urlsplit(url).scheme in ("s3", "s3+http"):
        store = S3ImageStore(url)
        await store.ensure_bucket()
        return store
    await asyncio.to_thread(local_dir.mkdir, parents=True, exist_ok=True)
    return LocalImageStore(local_dir)
